/**
 * A request answered before its body was read (a refused import, a 413, a 401 on an upload) must
 * leave the connection usable. Node stops reading a socket whose request body nobody consumes, so
 * the next request on a keep-alive connection would never be answered — and a leftover body on a
 * reused connection is the shape of request smuggling. Before such an answer goes out, the rest of
 * the body is read and dropped, up to a byte and time budget; past it the answer says
 * `connection: close` and the socket is not reused. Reading first also means a client still
 * sending receives the answer instead of a reset (EPIPE) when the socket closes.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** How long a refused body may keep streaming in before the connection is given up instead. */
const DRAIN_TIMEOUT_MS = 10_000;

/** Resolves true once the request's body has been read to its end, false past `maxBytes` or `timeoutMs`. */
export function drainBody(raw: IncomingMessage, maxBytes: number, timeoutMs = DRAIN_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    let seen = 0;
    const settle = (drained: boolean) => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onClose);
      resolve(drained);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) settle(false);
    };
    const onEnd = () => settle(true);
    const onFail = () => settle(false);
    const onClose = () => settle(raw.complete);
    const timer = setTimeout(onFail, timeoutMs);
    raw.on('data', onData).once('end', onEnd).once('error', onFail).once('close', onClose);
    // Whoever was reading (a CSV parser that stopped) is gone; flowing again drops what comes.
    raw.unpipe();
    raw.resume();
  });
}

export function registerBodyDrain(app: FastifyInstance, maxBytes: number): void {
  // Not async: nearly every request has its body read, and then there is nothing to wait for.
  app.addHook('onSend', (request, reply, payload, done) => {
    const raw = request.raw;
    // `complete` is false only on a real socket whose body has not fully arrived (inject() has none).
    if (raw.complete !== false || raw.destroyed) return done(null, payload);
    drainBody(raw, maxBytes).then(
      (drained) => {
        if (drained) {
          // Fastify asks to close after a refused body because more of it may follow; none does now.
          if (reply.getHeader('connection') === 'close') reply.removeHeader('connection');
        } else {
          reply.header('connection', 'close');
        }
        done(null, payload);
      },
      (error: Error) => done(error),
    );
  });
}
