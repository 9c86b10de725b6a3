/**
 * The HTTP client of Guardian's Slack and webhook deliveries: the campaign webhooks' request shape
 * (connect to the address the SSRF guard vetted, whatever DNS says now; a timeout; no redirects
 * followed) over Guardian's own keep-alive agents, so a burst of notifications to one receiver
 * reuses a bounded set of connections instead of opening a socket — and, for https, a TLS
 * handshake — per delivery. A kept socket stays bound to the address it was opened to, which the
 * guard vetted when it opened; idle sockets close after 30 s.
 */
import http from 'node:http';
import https from 'node:https';
import type { WebhookHttpClient } from '../campaigns/webhooks.js';

/** Connections per receiver (host and port); further requests queue for a free one. */
export const SOCKETS_PER_RECEIVER = 64;

const agentOptions = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: SOCKETS_PER_RECEIVER, maxFreeSockets: SOCKETS_PER_RECEIVER, timeout: 30_000, scheduling: 'lifo' as const };
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

export const guardianHttpClient: WebhookHttpClient = {
  post(request) {
    return new Promise((resolve, reject) => {
      const isHttps = request.url.protocol === 'https:';
      const req = (isHttps ? https : http).request(
        request.url,
        {
          method: 'POST',
          agent: isHttps ? httpsAgent : httpAgent,
          headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body).toString() },
          timeout: request.timeoutMs,
          lookup: (_host, _options, callback) => callback(null, request.address.address, request.address.family),
        },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, location: typeof res.headers.location === 'string' ? res.headers.location : null });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${request.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(request.body);
    });
  },
};
