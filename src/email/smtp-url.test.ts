import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { ProviderError, type ProviderMessage } from './provider.js';
import { createSmtpProvider } from './smtp.js';
import { parseSmtpUrl, SmtpUrlError } from './smtp-url.js';

describe('parseSmtpUrl', () => {
  it('reads implicit TLS, STARTTLS requirements, credentials and certificate checks', () => {
    expect(parseSmtpUrl('smtp://mail.example.com')).toEqual({ host: 'mail.example.com', port: 587, secure: false, auth: undefined, requireTLS: false, rejectUnauthorized: true });
    expect(parseSmtpUrl('smtps://mail.example.com')).toMatchObject({ port: 465, secure: true });
    expect(parseSmtpUrl('smtp://mail.example.com:465')).toMatchObject({ port: 465, secure: true });
    expect(parseSmtpUrl('smtp://ada%40acme:p%3Ass@mail.example.com:2525')).toMatchObject({ port: 2525, secure: false, auth: { user: 'ada@acme', pass: 'p:ss' }, requireTLS: true });
    expect(parseSmtpUrl('smtp://ada:pw@relay.internal?require_tls=false')).toMatchObject({ requireTLS: false });
    expect(parseSmtpUrl('smtp://relay.internal?require_tls=true')).toMatchObject({ requireTLS: true });
    expect(parseSmtpUrl('smtps://mail.example.com?tls_verify=false')).toMatchObject({ rejectUnauthorized: false });
    expect(parseSmtpUrl('smtp://127.0.0.1:25')).toMatchObject({ rejectUnauthorized: false });
    expect(parseSmtpUrl('smtp://[::1]:25')).toMatchObject({ host: '::1', rejectUnauthorized: false });
  });

  it('refuses what it cannot mean, and so do the config and the provider settings', () => {
    expect(() => parseSmtpUrl('smtp://h?require_tls=yes')).toThrow(SmtpUrlError);
    expect(() => parseSmtpUrl('smtp://h?require_tls=yes')).toThrow(/require_tls must be true or false/);
    expect(() => parseSmtpUrl('smtp://h?tls_verify=0')).toThrow(/tls_verify/);
    expect(() => parseSmtpUrl('http://h')).toThrow(/smtp: or smtps:/);
    expect(() => loadConfig({ SMTP_URL: 'smtp://h?require_tls=yes' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMTP_URL: 'smtp://h?require_tls=yes' })).toThrow(/SMTP_URL.*require_tls/);
    expect(loadConfig({ SMTP_URL: 'smtps://ada:pw@mail.example.com' }).smtpUrl).toBe('smtps://ada:pw@mail.example.com');
  });
});

describe('SMTP provider transport security', () => {
  const servers: SMTPServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  });

  async function start(options: Partial<SMTPServerOptions>): Promise<{ port: number; auths: Array<{ user: string; secure: boolean }>; delivered: Array<{ to: string; secure: boolean }> }> {
    const auths: Array<{ user: string; secure: boolean }> = [];
    const delivered: Array<{ to: string; secure: boolean }> = [];
    const server = new SMTPServer({
      logger: false,
      authOptional: false,
      onAuth(auth, session, callback) {
        auths.push({ user: auth.username ?? '', secure: session.secure });
        callback(null, { user: auth.username });
      },
      onData(stream, session, callback) {
        stream.resume();
        stream.on('end', () => {
          delivered.push({ to: session.envelope.rcptTo[0]!.address, secure: session.secure });
          callback();
        });
      },
      ...options,
    });
    server.on('error', () => undefined);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.server.address() as AddressInfo).port, auths, delivered };
  }

  const message = (to: string): ProviderMessage => ({ workspaceId: 'w', messageId: 'm', from: 'Acme <news@acme.test>', to, subject: 'Hi', html: '<p>Hi</p>', text: 'Hi', headers: {}, rfcMessageId: `<${to}@acme.test>` });

  it('delivers through smtps:// (implicit TLS) with credentials', async () => {
    const { port, auths, delivered } = await start({ secure: true });
    const provider = createSmtpProvider(`smtps://ada:s3cret@127.0.0.1:${port}`);
    try {
      await provider.send(message('a@example.com'), { idempotencyKey: 'k' });
      expect(auths).toEqual([{ user: 'ada', secure: true }]);
      expect(delivered).toEqual([{ to: 'a@example.com', secure: true }]);
    } finally {
      await provider.close?.();
    }
  });

  it('refuses smtp:// with credentials to a server without STARTTLS, transiently and before AUTH, unless require_tls=false', async () => {
    const { port, auths, delivered } = await start({ disabledCommands: ['STARTTLS'] });
    const strict = createSmtpProvider(`smtp://ada:s3cret@127.0.0.1:${port}`);
    try {
      const error = await strict.send(message('a@example.com'), { idempotencyKey: 'k' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ kind: 'transient' });
      expect((error as Error).message).toMatch(/ETLS.*does not offer STARTTLS/);
      expect(await strict.check!()).toMatchObject({ ok: false });
      expect(auths).toEqual([]);
      expect(delivered).toEqual([]);
    } finally {
      await strict.close?.();
    }
    const relaxed = createSmtpProvider(`smtp://ada:s3cret@127.0.0.1:${port}?require_tls=false`);
    try {
      await relaxed.send(message('b@example.com'), { idempotencyKey: 'k' });
      expect(auths).toEqual([{ user: 'ada', secure: false }]);
      expect(delivered).toEqual([{ to: 'b@example.com', secure: false }]);
    } finally {
      await relaxed.close?.();
    }
  });
});
