/**
 * Signed links placed in emails: the open pixel, click redirects and unsubscribe links. A token
 * is `base64url(payload).base64url(HMAC-SHA256(payload))[0..16 bytes]` with a key derived from
 * the app secret, so a click redirect can only lead to the URL that was signed at send time:
 * a tampered or unknown token is refused, never redirected (no open redirect).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type LinkPayload =
  | { t: 'o'; w: string; m: string; c: string | null }
  | { t: 'c'; w: string; m: string; c: string | null; u: string }
  | { t: 'u'; w: string; e: string; c: string | null; m: string | null; p?: string | null };

export type OpenLink = Extract<LinkPayload, { t: 'o' }>;
export type ClickLink = Extract<LinkPayload, { t: 'c' }>;
export type UnsubscribeLink = Extract<LinkPayload, { t: 'u' }>;

const MAC_BYTES = 16;

export class LinkSigner {
  private readonly key: Buffer;
  constructor(appSecret: string) {
    this.key = createHmac('sha256', appSecret).update('unite-hub email links v1').digest();
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, MAC_BYTES);
  }

  sign(payload: LinkPayload): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.mac(body).toString('base64url')}`;
  }

  /** The payload of a genuine token of the wanted kind, or null. */
  verify<K extends LinkPayload['t']>(token: string, kind: K): Extract<LinkPayload, { t: K }> | null {
    if (token.length > 8192) return null;
    const dot = token.indexOf('.');
    if (dot <= 0) return null;
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = this.mac(body);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    if (typeof payload !== 'object' || payload === null || (payload as { t?: unknown }).t !== kind) return null;
    return payload as Extract<LinkPayload, { t: K }>;
  }
}

export interface TrackingContext {
  signer: LinkSigner;
  /** PUBLIC_URL without a trailing slash. */
  baseUrl: string;
  workspaceId: string;
  messageId: string;
  contactId: string | null;
}

function decodeEntities(value: string): string {
  return value.replace(/&amp;/g, '&').replace(/&#x27;|&#39;/g, "'").replace(/&quot;/g, '"');
}

const LINK = /(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?:\/\/[^"']+)\2/gi;

/** Rewrites http(s) links to signed click redirects and appends the open pixel. */
export function addTracking(html: string, ctx: TrackingContext): string {
  // Our own links (unsubscribe, already tracked) are left as they are.
  const own = `${ctx.baseUrl}/`;
  const rewritten = html.replace(LINK, (whole, before: string, quote: string, href: string) => {
    const url = decodeEntities(href);
    if (url.startsWith(own)) return whole;
    const token = ctx.signer.sign({ t: 'c', w: ctx.workspaceId, m: ctx.messageId, c: ctx.contactId, u: url });
    return `${before}${quote}${ctx.baseUrl}/t/c/${token}${quote}`;
  });
  const pixelToken = ctx.signer.sign({ t: 'o', w: ctx.workspaceId, m: ctx.messageId, c: ctx.contactId });
  const pixel = `<img src="${ctx.baseUrl}/t/o/${pixelToken}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px" />`;
  const bodyEnd = rewritten.search(/<\/body>/i);
  return bodyEnd >= 0 ? `${rewritten.slice(0, bodyEnd)}${pixel}${rewritten.slice(bodyEnd)}` : `${rewritten}${pixel}`;
}

/**
 * RFC 2369 List-Unsubscribe and RFC 8058 one-click headers for marketing email. Only the HTTPS
 * URI is advertised: RFC 8058 needs nothing else, and a mailto: address would promise an inbound
 * mailbox that nothing reads. The signed link carries the message's topic (`p`), so one click
 * leaves that topic only (see public.routes.ts).
 */
export function unsubscribeHeaders(signer: LinkSigner, baseUrl: string, link: Omit<UnsubscribeLink, 't'>): Record<string, string> {
  const token = signer.sign({ t: 'u', ...link });
  return {
    'List-Unsubscribe': `<${baseUrl}/u/${token}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}

/**
 * Opens that no person made: Apple Mail Privacy Protection preloads every image through Apple's
 * proxies (17.0.0.0/8, a bare "Mozilla/5.0" user agent), Gmail and Yahoo fetch through image
 * proxies, and security scanners fetch with library user agents.
 */
export function isMachineOpen(userAgent: string, ip: string): boolean {
  const ua = userAgent.trim();
  if (ua === '' || ua === 'Mozilla/5.0') return true;
  if (/GoogleImageProxy|YahooMailProxy|ggpht\.com|Barracuda|Mimecast|Proofpoint|python-requests|curl\/|Go-http-client|okhttp|HeadlessChrome/i.test(ua)) return true;
  if (/^17\.\d+\.\d+\.\d+$/.test(ip) && !/Mobile|Version\//.test(ua)) return true;
  return false;
}
