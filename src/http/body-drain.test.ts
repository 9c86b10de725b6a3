/**
 * A body refused before it was read must not poison the connection: the server reads (and drops)
 * the rest of it, answers, and takes the next request on the same socket. Raw sockets, because
 * inject() has no connection to reuse.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type Caller, type TestApp } from '../../test/helpers.js';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes `chunks` in order on one connection and collects up to `count` responses (or what came before close/timeout). */
async function exchange(port: number, chunks: Array<string | Buffer>, count: number, timeoutMs = 15_000): Promise<{ responses: RawResponse[]; error: string | null; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = Buffer.alloc(0);
  const responses: RawResponse[] = [];
  let error: string | null = null;
  let closed = false;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.on('data', (data) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const headers = Object.fromEntries(head.slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
        const length = Number(headers['content-length'] ?? 0);
        if (buffer.length < end + 4 + length) break;
        responses.push({ status: Number(head[0]!.split(' ')[1]), headers, body: buffer.subarray(end + 4, end + 4 + length).toString('utf8') });
        buffer = buffer.subarray(end + 4 + length);
      }
      if (responses.length >= count) finish();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
  });
  for (const chunk of chunks) {
    if (socket.destroyed) break;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
  }
  await done;
  socket.destroy();
  return { responses, error, closed };
}

let t: TestApp;
let caller: Caller;
let port: number;
let writeKey: string;
beforeAll(async () => {
  t = await createTestApp();
  caller = await signUp(t.app);
  writeKey = (await t.app.inject({ method: 'POST', url: '/api/write-keys', headers: caller.session, payload: { name: 'web' } })).json().key;
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await t.close();
});

const nextRequest = 'GET /health/live HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n';

describe('a body refused before it was read', () => {
  it('a 2 MiB CSV refused at its header row: 400 IMPORT_CSV_INVALID, then the next request on the same connection is answered', async () => {
    const rows = Buffer.from('x@example.com,Ann\n'.repeat(Math.ceil((2 * 1024 * 1024) / 18)));
    const body = Buffer.concat([Buffer.from('em\0ail,name\n'), rows]);
    const head = `POST /api/imports HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: ${caller.bearer.authorization}\r\ncontent-type: text/csv\r\ncontent-length: ${body.length}\r\n\r\n`;
    const { responses, error } = await exchange(port, [head, body, nextRequest], 2);
    expect(error).toBeNull();
    expect(responses.map((r) => r.status)).toEqual([400, 200]);
    expect(JSON.parse(responses[0]!.body).error.code).toBe('IMPORT_CSV_INVALID');
    expect(JSON.parse(responses[1]!.body)).toEqual({ status: 'ok' });
  });

  it('an unauthenticated CSV upload: 401, then the next request is answered', async () => {
    const body = Buffer.from('email\n' + 'y@example.com\n'.repeat(100_000));
    const head = `POST /api/imports HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/csv\r\ncontent-length: ${body.length}\r\n\r\n`;
    const { responses, error } = await exchange(port, [head, body, nextRequest], 2);
    expect(error).toBeNull();
    expect(responses.map((r) => r.status)).toEqual([401, 200]);
  });

  it('a /v1 body over its limit: 413 BODY_TOO_LARGE is answered in full (no reset), then the next request too', async () => {
    const message = JSON.stringify({ type: 'track', userId: 'u1', event: 'Big', properties: { pad: 'p'.repeat(1000) } });
    const body = `{"batch":[${Array.from({ length: 1500 }, () => message).join(',')}]}`;
    const head = `POST /v1/batch HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Basic ${Buffer.from(`${writeKey}:`).toString('base64')}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    const { responses, error } = await exchange(port, [head, body, nextRequest], 2);
    expect(error).toBeNull();
    expect(responses.map((r) => r.status)).toEqual([413, 200]);
    expect(JSON.parse(responses[0]!.body).error.code).toBe('BODY_TOO_LARGE');
  });

  it('a chunked body over the limit: 413, then the next request', async () => {
    const piece = 'a'.repeat(64 * 1024);
    const chunks = Array.from({ length: 40 }, () => `${piece.length.toString(16)}\r\n${piece}\r\n`);
    const head = `POST /api/auth/login HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`;
    const { responses, error } = await exchange(port, [head, ...chunks, '0\r\n\r\n', nextRequest], 2);
    expect(error).toBeNull();
    expect(responses.map((r) => r.status)).toEqual([413, 200]);
  });
});
