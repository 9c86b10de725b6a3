import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmailTestApp, enqueueTestEmail, messageRow, type EmailTestApp } from '../../test/email-helpers.js';
import { signUp, type Caller } from '../../test/helpers.js';
import { ManualClock } from '../platform/clock.js';
import { EmailSender } from './sender.js';
import { createSmtpProvider } from './smtp.js';

interface Received {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server on a local port; rejects RCPT for some addresses like a real MTA. */
const received: Received[] = [];
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onRcptTo(address, _session, callback) {
    if (address.address.startsWith('unknown')) return callback(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
    if (address.address.startsWith('greylisted')) return callback(Object.assign(new Error('4.7.1 Try again later'), { responseCode: 451 }));
    return callback();
  },
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
      callback();
    });
  },
});

let t: EmailTestApp;
let caller: Caller;
const clock = new ManualClock();

/** The raw message's header block with folded lines joined, as name → value. */
function headersOf(raw: string): Map<string, string> {
  const block = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  const map = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    map.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return map;
}

/** The decoded body text (quoted-printable soft breaks and escapes undone). */
function bodyOf(raw: string): string {
  return raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  t = await createEmailTestApp({ clock, config: { SMTP_URL: `smtp://127.0.0.1:${port}` } });
  caller = await signUp(t.app);
  clock.set(new Date(Date.now() + 5 * 60_000));
});
afterAll(async () => {
  await t.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('SMTP provider', () => {
  it('delivers a marketing email over a real SMTP conversation with its headers, tracking and both parts', async () => {
    const id = await enqueueTestEmail(t.db, caller.workspaceId, {
      idempotencyKey: 'campaign:1:step:2',
      sourceType: 'campaign',
      to: 'Ada Lovelace <ada@example.com>',
      subject: 'Our spring offer',
      html: '<html><body><p>Hello Ada</p><a href="https://shop.example.com/spring?x=1&amp;y=2">Shop now</a></body></html>',
      text: 'Hello Ada, shop at https://shop.example.com/spring',
    });
    expect(t.runtime.deps.email.sender.provider.name).toBe('smtp');
    await t.runtime.deps.email.sender.runOnce();
    const row = await messageRow(t.db, id);
    expect(row.status).toBe('sent');
    expect(row.provider).toBe('smtp');

    const mail = received.find((r) => r.to.includes('ada@example.com'))!;
    expect(mail.from).toBe('news@acme.test');
    const headers = headersOf(mail.raw);
    expect(headers.get('subject')).toBe('Our spring offer');
    expect(headers.get('from')).toBe('Acme <news@acme.test>');
    expect(headers.get('to')).toBe('Ada Lovelace <ada@example.com>');
    expect(headers.get('message-id')).toMatch(/^<[0-9a-f]{40}@acme\.test>$/);
    expect(row.provider_message_id).toBe(headers.get('message-id'));
    expect(headers.get('list-unsubscribe')).toMatch(/^<http:\/\/localhost:3008\/u\/[\w-]+\.[\w-]+>$/);
    expect(headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(headers.get('content-type')).toContain('multipart/alternative');
    const body = bodyOf(mail.raw);
    expect(body).toContain('Hello Ada, shop at https://shop.example.com/spring');
    expect(body).toMatch(/href="http:\/\/localhost:3008\/t\/c\/[\w-]+\.[\w-]+"/);
    expect(body).not.toContain('href="https://shop.example.com');
    expect(body).toMatch(/<img src="http:\/\/localhost:3008\/t\/o\/[\w-]+\.[\w-]+"/);
  });

  it('gives the same Message-ID to a resend of the same idempotency key', async () => {
    const first = received.find((r) => r.to.includes('ada@example.com'))!;
    await t.db.query(`UPDATE messages SET status = 'queued', next_attempt_at = now() WHERE idempotency_key = 'campaign:1:step:2'`);
    await t.runtime.deps.email.sender.runOnce();
    const copies = received.filter((r) => r.to.includes('ada@example.com'));
    expect(copies).toHaveLength(2);
    expect(headersOf(copies[1]!.raw).get('message-id')).toBe(headersOf(first.raw).get('message-id'));
  });

  it('fails permanently on a 5xx reply and retries a 4xx reply, never marking either sent', async () => {
    const unknown = await enqueueTestEmail(t.db, caller.workspaceId, { to: 'unknown@example.com' });
    const greylisted = await enqueueTestEmail(t.db, caller.workspaceId, { to: 'greylisted@example.com' });
    await t.runtime.deps.email.sender.runOnce();
    const failed = await messageRow(t.db, unknown);
    expect(failed.status).toBe('failed');
    expect(failed.last_error).toContain('550');
    const retry = await messageRow(t.db, greylisted);
    expect(retry.status).toBe('queued');
    expect(retry.last_error).toContain('451');
    expect(retry.next_attempt_at.getTime()).toBeGreaterThan(clock.now().getTime());
    const attempts = await t.db.query<{ result: string }>('SELECT result FROM send_attempts WHERE message_id = ANY($1) ORDER BY result', [[unknown, greylisted]]);
    expect(attempts.rows.map((r) => r.result)).toEqual(['permanent_error', 'transient_error']);
  });

  it('retries when the server cannot be reached', async () => {
    const down = await createEmailTestApp({ clock, config: { SMTP_URL: 'smtp://127.0.0.1:1' } });
    try {
      const other = await signUp(down.app);
      const id = await enqueueTestEmail(down.db, other.workspaceId);
      await down.runtime.deps.email.sender.runOnce();
      const row = await messageRow(down.db, id);
      expect(row.status).toBe('queued');
      expect(row.last_error).toMatch(/ECONNREFUSED|ECONNECTION|connect/i);
      expect(await down.runtime.deps.email.sender.provider.check!()).toMatchObject({ ok: false });
      expect(await t.runtime.deps.email.sender.provider.check!()).toMatchObject({ ok: true });
    } finally {
      await down.close();
    }
  });
});

type Misbehaviour = 'drop-after-dot' | 'hang-after-dot' | 'drop-during-data' | 'hang-before-data' | 'reject-after-dot';

/**
 * A minimal SMTP server on a socket, for the failures a real MTA produces rarely: the connection
 * lost (or the reply never sent) after the DATA terminator, or before it.
 */
async function misbehavingServer(behaviour: Misbehaviour): Promise<{ port: number; terminated: () => number; close: () => Promise<void> }> {
  let terminated = 0;
  const server: TcpServer = createTcpServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('220 fake.test ESMTP\r\n');
    let buffer = '';
    let inData = false;
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          if (behaviour === 'drop-during-data') return void socket.destroy();
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          terminated += 1;
          inData = false;
          buffer = buffer.slice(end + 5);
          if (behaviour === 'drop-after-dot') return void socket.destroy();
          if (behaviour === 'reject-after-dot') socket.write('554 5.7.1 Message refused\r\n');
          if (behaviour === 'hang-after-dot') return;
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const verb = buffer.slice(0, 4).toUpperCase();
        buffer = buffer.slice(eol + 2);
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 fake.test\r\n');
        else if (verb === 'MAIL' && behaviour === 'hang-before-data') return;
        else if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') socket.write('250 OK\r\n');
        else if (verb === 'DATA') {
          socket.write('354 go ahead\r\n');
          inData = true;
        } else if (verb === 'QUIT') return void socket.end('221 bye\r\n');
        else socket.write('502 unknown\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    terminated: () => terminated,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('SMTP failures: certain or ambiguous', () => {
  const cases: Array<{ behaviour: Misbehaviour; status: string; result: string; delivered: number }> = [
    { behaviour: 'drop-after-dot', status: 'uncertain', result: 'ambiguous', delivered: 1 },
    { behaviour: 'hang-after-dot', status: 'uncertain', result: 'ambiguous', delivered: 1 },
    // The server drops on the first data chunk and never sees the terminator. Whether the client
    // can know that depends on the kernel: if it took the whole message and its terminator before
    // the drop, the client cannot tell it from a drop after the dot and takes the safe side
    // (uncertain); if the drop came first, the message is certainly not accepted (retried; the
    // certain case on its own is in smtp-client.test.ts). Never sent, never failed.
    { behaviour: 'drop-during-data', status: 'uncertain|queued', result: 'ambiguous|transient_error', delivered: 0 },
    { behaviour: 'hang-before-data', status: 'queued', result: 'transient_error', delivered: 0 },
    { behaviour: 'reject-after-dot', status: 'failed', result: 'permanent_error', delivered: 1 },
  ];
  it.each(cases)('$behaviour: the message ends $status ($result)', async ({ behaviour, status, result, delivered }) => {
    const fake = await misbehavingServer(behaviour);
    const provider = createSmtpProvider(`smtp://127.0.0.1:${fake.port}`, { timeoutMs: 400, maxConnections: 1 });
    const deps = t.runtime.deps;
    const sender = new EmailSender({ db: t.db, holder: t.runtime.holder, clock, logger: deps.logger, eventSink: () => deps.eventSink, provider, signer: deps.email.signer, publicUrl: deps.config.publicUrl, baseBackoffMs: 1000 });
    try {
      // Large enough that the server sees DATA in several chunks, so it can drop mid-message.
      const big = `<html><body>${'<p>Spring offer for everyone who reads to the end.</p>'.repeat(4000)}</body></html>`;
      const id = await enqueueTestEmail(t.db, caller.workspaceId, { idempotencyKey: `smtp-failure:${behaviour}`, html: big, text: 'Spring offer' });
      await sender.runOnce();
      const row = await messageRow(t.db, id);
      const outcome = status.split('|').indexOf(row.status);
      expect(outcome, `${row.status}: ${row.last_error}`).toBeGreaterThanOrEqual(0);
      const attempts = await t.db.query<{ result: string }>('SELECT result FROM send_attempts WHERE message_id = $1', [id]);
      expect(attempts.rows.map((r) => r.result)).toEqual([result.split('|')[outcome]]);
      expect(fake.terminated()).toBe(delivered);
      if (row.status === 'uncertain') expect(row.last_error).toContain('after the end of DATA');
    } finally {
      await sender.stop();
      await fake.close();
    }
  });
});

