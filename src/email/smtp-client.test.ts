import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { buildMimeMessage } from './mime.js';
import { dotStuff, SmtpClient, SmtpConnectionError, SmtpReplyError, type SmtpClientOptions } from './smtp-client.js';
import { classifySmtpError } from './smtp.js';

interface Received {
  from: string;
  to: string[];
  raw: string;
  secure: boolean;
  user: string | undefined;
}

const servers: SMTPServer[] = [];
const clients: SmtpClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/**
 * A real smtp-server that answers like a strict MTA, chosen by the recipient's local part:
 * `reject*` 550 at RCPT, `grey*` 451 at RCPT, `full*` 452 after the data, `drop*` drops the
 * connection during the data, anyone else is accepted.
 */
async function startServer(options: Partial<SMTPServerOptions> = {}): Promise<{ port: number; received: Received[]; connections: () => number; server: SMTPServer }> {
  const received: Received[] = [];
  let connections = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      connections += 1;
      callback();
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('reject')) return callback(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
      if (address.address.startsWith('grey')) return callback(Object.assign(new Error('4.7.1 Try again later'), { responseCode: 451 }));
      return callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      const to = session.envelope.rcptTo.map((r) => r.address);
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        // Like a relay that crashes mid-message: the socket goes away before any reply.
        if (to.some((a) => a.startsWith('drop'))) {
          const connections = (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections;
          for (const connection of connections) if (connection.id === session.id) connection._socket.destroy();
        }
      });
      stream.on('end', () => {
        if (to.some((a) => a.startsWith('drop'))) return;
        if (to.some((a) => a.startsWith('full'))) return callback(Object.assign(new Error('4.2.2 Mailbox full'), { responseCode: 452 }));
        received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to, raw: Buffer.concat(chunks).toString('utf8'), secure: session.secure, user: session.user as string | undefined });
        callback();
      });
    },
    ...options,
  });
  // A TLS handshake the client refuses (an unverified certificate) is an 'error' on the server.
  server.on('error', () => undefined);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.server.address() as AddressInfo).port, received, connections: () => connections, server };
}

function client(port: number, options: Partial<SmtpClientOptions> = {}): SmtpClient {
  const c = new SmtpClient({ host: '127.0.0.1', port, secure: false, rejectUnauthorized: false, maxConnections: 3, timeoutMs: 5000, ...options });
  clients.push(c);
  return c;
}

function message(to: string, body = `Hello ${to}`): Buffer {
  return buildMimeMessage({ from: 'Acme <news@acme.test>', to, subject: `For ${to}`, html: `<p>${body}</p>`, text: body, headers: {}, messageId: `<${to}@acme.test>`, date: new Date() });
}

/** Sends to each address; the outcome per address: 'sent' or the SMTP code / connection code. */
async function sendAll(c: SmtpClient, addresses: string[]): Promise<Map<string, string>> {
  const outcomes = await Promise.all(
    addresses.map((to) =>
      c.send({ from: 'news@acme.test', to: [to] }, message(to)).then(
        () => 'sent',
        (error: unknown) => (error instanceof SmtpReplyError ? String(error.responseCode) : error instanceof SmtpConnectionError ? error.code : `other: ${String(error)}`),
      ),
    ),
  );
  return new Map(addresses.map((a, i) => [a, outcomes[i]!]));
}

describe('SmtpClient', () => {
  it('delivers every message of a concurrent burst exactly once over a small pool, with PIPELINING', async () => {
    const { port, received, connections } = await startServer();
    const c = client(port);
    const addresses = Array.from({ length: 60 }, (_, i) => `person${i}@example.com`);
    const outcomes = await sendAll(c, addresses);
    expect([...outcomes.values()].every((o) => o === 'sent')).toBe(true);
    expect(received.map((r) => r.to[0]).sort()).toEqual([...addresses].sort());
    expect(connections()).toBeLessThanOrEqual(3);
    const one = received.find((r) => r.to[0] === 'person7@example.com')!;
    expect(one.from).toBe('news@acme.test');
    expect(one.raw).toContain('Subject: For person7@example.com');
    expect(one.raw).toContain('<p>Hello person7@example.com</p>');
  });

  it('gives each message of a mixed burst its own exact outcome, and keeps using the connections', async () => {
    const { port, received } = await startServer();
    const c = client(port);
    const kinds = ['ok', 'reject', 'ok', 'grey', 'full', 'ok', 'drop', 'ok'];
    const addresses = Array.from({ length: 64 }, (_, i) => `${kinds[i % kinds.length]}${i}@example.com`);
    const outcomes = await sendAll(c, addresses);
    for (const [address, outcome] of outcomes) {
      const kind = /^[a-z]+/.exec(address)![0];
      const expected = { ok: 'sent', reject: '550', grey: '451', full: '452', drop: 'ECONNECTION' }[kind];
      expect(`${address}: ${outcome}`).toBe(`${address}: ${expected}`);
    }
    const accepted = received.map((r) => r.to[0]).sort();
    expect(accepted).toEqual(addresses.filter((a) => a.startsWith('ok')).sort());
    // A later message after all those failures still goes through.
    expect(await sendAll(c, ['after@example.com'])).toEqual(new Map([['after@example.com', 'sent']]));
  });

  it('writes a message\'s data only after its hand-off hook resolved, and none when it rejects; hooks of waiting messages run ahead, at most one per connection', async () => {
    const { port, received } = await startServer();
    const c = client(port, { maxConnections: 2 });
    const started: string[] = [];
    let inFlight = 0;
    let most = 0;
    const hook = (to: string) => async () => {
      started.push(to);
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      // By the time the hook resolves, the server has the envelope but not the data.
      expect(received.some((r) => r.to[0] === to)).toBe(false);
      if (to.startsWith('refused')) throw new Error('the hand-off could not be recorded');
    };
    const addresses = ['a@example.com', 'refused@example.com', 'b@example.com', 'c@example.com', 'd@example.com', 'e@example.com'];
    const outcomes = await Promise.all(addresses.map((to) => c.send({ from: 'news@acme.test', to: [to] }, message(to), hook(to)).then(() => 'sent', (error: Error) => error.message)));
    expect(outcomes).toEqual(['sent', 'the hand-off could not be recorded', 'sent', 'sent', 'sent', 'sent']);
    expect(received.map((r) => r.to[0]).sort()).toEqual(['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com', 'e@example.com']);
    expect(started.sort()).toEqual([...addresses].sort());
    // Two connections, each with its message and one waiting message's hook: never more than four.
    expect(most).toBeLessThanOrEqual(4);
  });

  it('works the same with a server that does not offer PIPELINING', async () => {
    const { port, received } = await startServer({ hidePIPELINING: true });
    const c = client(port);
    const outcomes = await sendAll(c, ['a@example.com', 'reject1@example.com', 'grey1@example.com', 'b@example.com']);
    expect(Object.fromEntries(outcomes)).toEqual({ 'a@example.com': 'sent', 'reject1@example.com': '550', 'grey1@example.com': '451', 'b@example.com': 'sent' });
    expect(received.map((r) => r.to[0]).sort()).toEqual(['a@example.com', 'b@example.com']);
  });

  it('sends a line that starts with a dot intact (dot-stuffing)', async () => {
    const { port, received } = await startServer();
    const c = client(port);
    const raw = buildMimeMessage({ from: 'news@acme.test', to: 'a@example.com', subject: 'Dots', html: '<p>x</p>', text: '.starts with a dot\n..two dots\n.', headers: {}, messageId: '<d@acme.test>', date: new Date() });
    await c.send({ from: 'news@acme.test', to: ['a@example.com'] }, raw);
    expect(received[0]!.raw).toBe(raw.toString('utf8'));
    expect(dotStuff(Buffer.from('.a\r\nb\r\n.c')).toString()).toBe('..a\r\nb\r\n..c\r\n');
  });

  it('reconnects when the server closed an idle connection, without failing the next message', async () => {
    const { port, received, connections, server } = await startServer();
    const c = client(port, { maxConnections: 1 });
    expect(await sendAll(c, ['first@example.com'])).toEqual(new Map([['first@example.com', 'sent']]));
    // The server ends the idle connection (as relays do after a while); the client has not noticed
    // yet when it picks the connection for the next message, which must still go out exactly once.
    for (const connection of (server as unknown as { connections: Set<{ _socket: { end(data: string): void } }> }).connections) connection._socket.end('421 4.4.2 Idle timeout\r\n');
    expect(await sendAll(c, ['second@example.com'])).toEqual(new Map([['second@example.com', 'sent']]));
    expect(received.map((r) => r.to[0])).toEqual(['first@example.com', 'second@example.com']);
    expect(connections()).toBe(2);
  });

  it('fails with a connection error, not a hang, when nothing listens', async () => {
    const c = client(1);
    const outcomes = await sendAll(c, ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com', 'e@example.com']);
    expect([...outcomes.values()]).toEqual(Array(5).fill('ECONNREFUSED'));
    await expect(c.verify()).rejects.toBeInstanceOf(SmtpConnectionError);
  });

  it('authenticates over STARTTLS, and fails permanently with wrong credentials', async () => {
    const { port, received } = await startServer({
      disabledCommands: [],
      authOptional: false,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, session, callback) {
        if (!session.secure) return callback(new Error('AUTH before TLS'));
        if (auth.username === 'ada' && auth.password === 's3cret') return callback(null, { user: 'ada' });
        return callback(Object.assign(new Error('5.7.8 Authentication failed'), { responseCode: 535 }));
      },
    });
    const good = client(port, { auth: { user: 'ada', pass: 's3cret' } });
    expect(await sendAll(good, ['a@example.com'])).toEqual(new Map([['a@example.com', 'sent']]));
    expect(received[0]!.user).toBe('ada');
    expect(received[0]!.secure).toBe(true);
    const bad = client(port, { auth: { user: 'ada', pass: 'wrong' } });
    const error = await bad.send({ from: 'news@acme.test', to: ['b@example.com'] }, message('b@example.com')).catch((e: unknown) => e);
    expect(classifySmtpError(error).kind).toBe('permanent');
    expect(String((error as Error).message)).toContain('535');
  });

  it('upgrades to TLS with STARTTLS when the server offers it', async () => {
    const { port, received } = await startServer({ disabledCommands: [] });
    const c = client(port);
    expect(await sendAll(c, ['secure@example.com'])).toEqual(new Map([['secure@example.com', 'sent']]));
    expect(received[0]!.secure).toBe(true);
  });

  it('never sends credentials in clear text: a server without STARTTLS is refused before AUTH', async () => {
    const attempts: string[] = [];
    const { port, received } = await startServer({
      authOptional: false,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, callback) {
        attempts.push(auth.username ?? '');
        return callback(null, { user: auth.username });
      },
    });
    const c = client(port, { auth: { user: 'ada', pass: 's3cret' } });
    const error = await c.send({ from: 'news@acme.test', to: ['a@example.com'] }, message('a@example.com')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmtpConnectionError);
    expect((error as SmtpConnectionError).code).toBe('ETLS');
    expect((error as Error).message).toMatch(/does not offer STARTTLS.*require_tls=false/);
    await expect(c.verify()).rejects.toMatchObject({ code: 'ETLS' });
    expect(attempts).toEqual([]);
    expect(received).toEqual([]);
    // Allowed only when asked for explicitly (a local relay on a trusted network).
    const plain = client(port, { auth: { user: 'ada', pass: 's3cret' }, requireTLS: false });
    expect(await sendAll(plain, ['b@example.com'])).toEqual(new Map([['b@example.com', 'sent']]));
    expect(attempts).toEqual(['ada']);
    expect(received.map((r) => [r.to[0], r.secure])).toEqual([['b@example.com', false]]);
  });

  it('requires TLS without credentials when asked to', async () => {
    const { port, received } = await startServer();
    const c = client(port, { requireTLS: true });
    expect(await sendAll(c, ['a@example.com'])).toEqual(new Map([['a@example.com', 'ETLS']]));
    expect(received).toEqual([]);
  });

  it('sends over implicit TLS, and checks the certificate unless told not to', async () => {
    // smtp-server's built-in certificate is self-signed.
    const { port, received } = await startServer({ secure: true, authOptional: false, onAuth: (auth, _session, callback) => callback(null, { user: auth.username }) });
    const c = client(port, { secure: true, auth: { user: 'ada', pass: 's3cret' } });
    expect(await sendAll(c, ['a@example.com'])).toEqual(new Map([['a@example.com', 'sent']]));
    expect(received.map((r) => [r.to[0], r.secure, r.user])).toEqual([['a@example.com', true, 'ada']]);
    const verifying = client(port, { secure: true, rejectUnauthorized: true });
    const outcome = (await sendAll(verifying, ['b@example.com'])).get('b@example.com');
    expect(outcome).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    expect(received).toHaveLength(1);
  });

  it('refuses to send after close', async () => {
    const { port } = await startServer();
    const c = client(port);
    c.close();
    expect(await sendAll(c, ['a@example.com'])).toEqual(new Map([['a@example.com', 'ECONNECTION']]));
  });
});
