/**
 * What an SMTP URL (SMTP_URL, or a workspace's smtp provider `url`) means for the connection:
 *
 *   smtp://user:pass@host:587   STARTTLS; with credentials, TLS is required (see below)
 *   smtps://user:pass@host      implicit TLS (port 465 by default; smtp://host:465 too)
 *   ?require_tls=false          allow a plain-text session when the server offers no STARTTLS
 *                               (credentials then cross the network readable): local relays only
 *   ?require_tls=true           require TLS even without credentials
 *   ?tls_verify=false           accept a certificate that does not verify (self-signed relays)
 *
 * TLS is required by default when the URL carries credentials, so a server (or someone in the
 * middle) that withholds STARTTLS cannot make us send AUTH in clear text. A leaf module: config.ts
 * and the provider settings validate URLs with it before anything connects.
 */

export interface SmtpTarget {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (smtps:// or port 465). */
  secure: boolean;
  auth: { user: string; pass: string } | undefined;
  /** Refuse a session that is not encrypted (no implicit TLS and no STARTTLS). */
  requireTLS: boolean;
  rejectUnauthorized: boolean;
}

export class SmtpUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SmtpUrlError';
  }
}

function flag(parsed: URL, name: string): boolean | undefined {
  const value = parsed.searchParams.get(name);
  if (value === null) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new SmtpUrlError(`${name} must be true or false, got "${value}"`);
}

export function parseSmtpUrl(url: string): SmtpTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SmtpUrlError('is not a valid URL');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') throw new SmtpUrlError(`must use smtp: or smtps:, got "${parsed.protocol}"`);
  if (!parsed.hostname) throw new SmtpUrlError('has no host');
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'smtps:' ? 465 : 587;
  const auth = parsed.username ? { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } : undefined;
  const loopback = parsed.hostname === '127.0.0.1' || parsed.hostname === 'localhost' || parsed.hostname === '[::1]';
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    secure: parsed.protocol === 'smtps:' || port === 465,
    auth,
    requireTLS: flag(parsed, 'require_tls') ?? auth !== undefined,
    // Local relays (and the tests' servers) present self-signed certificates.
    rejectUnauthorized: (flag(parsed, 'tls_verify') ?? true) && !loopback,
  };
}
