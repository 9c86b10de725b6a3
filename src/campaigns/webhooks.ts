/**
 * Outgoing campaign webhooks: delivery of `campaign_webhooks` rows, signed with HMAC-SHA256 over
 * `<timestamp>.<body>` (headers `x-unitehub-timestamp`, `x-unitehub-signature: v1=<hex>`), with a
 * timeout, retries with backoff, and a guard that refuses loopback, private, link-local, metadata
 * and other non-public addresses — checked after DNS resolution, with the connection pinned to the
 * vetted address (no rebinding), and again for every redirect hop.
 *
 * Delivery is at least once, with an idempotency key: every request of a row carries the same
 * `x-unitehub-delivery` (the row id) for receivers to drop a repeat. A claim carries this process's
 * holder id (db/holder.ts); when the process dies mid-delivery, any live worker sees it within a
 * second and releases its rows (`reclaimDeadWebhookHolders`), which are sent again at once.
 */
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import ipaddr from 'ipaddr.js';
import type { Database } from '../db/database.js';
import { deadHoldersCtes, type WorkHolder } from '../db/holder.js';
import type { BackgroundWorker } from '../init.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { backoffDelay } from '../platform/backoff.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface DnsResolver {
  resolve(host: string): Promise<ResolvedAddress[]>;
}

export interface WebhookRequest {
  url: URL;
  /** The vetted address to connect to; the Host header and TLS name stay the URL's host. */
  address: ResolvedAddress;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface WebhookHttpClient {
  post(request: WebhookRequest): Promise<{ status: number; location: string | null }>;
}

export const systemDnsResolver: DnsResolver = {
  async resolve(host) {
    const found = await lookup(host, { all: true, verbatim: true });
    return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  },
};

export const nodeWebhookClient: WebhookHttpClient = {
  post(request) {
    return new Promise((resolve, reject) => {
      const lib = request.url.protocol === 'https:' ? https : http;
      const req = lib.request(
        request.url,
        {
          method: 'POST',
          headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body).toString() },
          timeout: request.timeoutMs,
          // Connect to the address that passed the guard, whatever DNS says now.
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

/** Only globally routable unicast addresses; IPv4-mapped IPv6 is judged as the IPv4 inside. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

export class WebhookRefused extends Error {}

/** Checks the URL and resolves its host to public addresses only. */
export async function vetWebhookUrl(raw: string, resolver: DnsResolver): Promise<{ url: URL; address: ResolvedAddress }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookRefused('not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookRefused(`scheme ${url.protocol} is not allowed`);
  if (url.username || url.password) throw new WebhookRefused('credentials in the URL are not allowed');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = ipaddr.isValid(host) ? [{ address: host, family: (host.includes(':') ? 6 : 4) as 4 | 6 }] : await resolver.resolve(host);
  if (addresses.length === 0) throw new WebhookRefused(`${host} does not resolve`);
  const bad = addresses.find((a) => !isPublicAddress(a.address));
  if (bad) throw new WebhookRefused(`${host} resolves to a non-public address (${bad.address})`);
  return { url, address: addresses[0]! };
}

export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

interface WebhookRow {
  id: string;
  url: string;
  secret: string;
  body: unknown;
  attempts: number;
}

export interface WebhookDeliveryDeps {
  db: Database;
  clock: Clock;
  logger: Logger;
  /** The process's holder of claimed work. */
  holder: WorkHolder;
  http: WebhookHttpClient;
  dns: DnsResolver;
  random: () => number;
}

const MAX_ATTEMPTS = 6;
const MAX_REDIRECTS = 3;
const TIMEOUT_MS = 10_000;
const LEASE_MS = 60_000;

// name: reclaimDeadWebhookHolders — releases the rows of holders whose lock is gone (their process
// died, maybe mid-request): due at once, delivered again with the same x-unitehub-delivery id.
export async function reclaimDeadWebhookHolders(deps: Pick<WebhookDeliveryDeps, 'db' | 'clock'>): Promise<number> {
  const released = await deps.db.query(
    `WITH RECURSIVE ${deadHoldersCtes('campaign_webhooks', 'true')}
     UPDATE campaign_webhooks w
        SET holder_id = NULL, locked_until = NULL, next_attempt_at = $1,
            last_error = 'the delivering process died; delivered again with the same x-unitehub-delivery id'
       FROM (SELECT c.id FROM campaign_webhooks c JOIN dead_holders d ON c.holder_id = d.holder
                FOR UPDATE OF c SKIP LOCKED) dead
      WHERE w.id = dead.id`,
    [deps.clock.now()],
  );
  return released.rowCount;
}

/** Delivers due webhooks once; returns how many were attempted. */
export async function deliverDueWebhooks(deps: WebhookDeliveryDeps, limit = 20): Promise<number> {
  const now = deps.clock.now();
  // name: claimDueWebhooks — SKIP LOCKED plus the holder: delivery happens outside the
  // transaction; a row with a holder is released by reclaimDeadWebhookHolders once that holder's
  // process is gone. The lease only keeps a worker of a version before migration 089 off it.
  const claimed = await deps.db.query<WebhookRow>(
    `UPDATE campaign_webhooks SET locked_until = $2, holder_id = $4, attempts = attempts + 1
      WHERE id IN (SELECT id FROM campaign_webhooks
                    WHERE status = 'queued' AND next_attempt_at <= $1 AND holder_id IS NULL AND (locked_until IS NULL OR locked_until <= $1)
                    ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
      RETURNING id, url, secret, body, attempts`,
    [now, new Date(now.getTime() + LEASE_MS), limit, await deps.holder.id()],
  );
  for (const row of claimed.rows) {
    const body = JSON.stringify(row.body);
    let outcome: { ok: true; status: number } | { ok: false; status: number | null; error: string; permanent: boolean };
    try {
      let target = row.url;
      outcome = { ok: false, status: null, error: `more than ${MAX_REDIRECTS} redirects`, permanent: true };
      for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
        const { url, address } = await vetWebhookUrl(target, deps.dns);
        const timestamp = Math.floor(deps.clock.now().getTime() / 1000);
        const response = await deps.http.post({
          url,
          address,
          body,
          timeoutMs: TIMEOUT_MS,
          headers: { 'content-type': 'application/json', 'user-agent': 'UniteHub-Webhooks/1', 'x-unitehub-delivery': row.id, 'x-unitehub-timestamp': String(timestamp), 'x-unitehub-signature': signWebhook(row.secret, timestamp, body) },
        });
        if (response.status >= 300 && response.status < 400 && response.location) {
          target = new URL(response.location, url).toString();
          continue;
        }
        outcome = response.status >= 200 && response.status < 300 ? { ok: true, status: response.status } : { ok: false, status: response.status, error: `HTTP ${response.status}`, permanent: false };
        break;
      }
    } catch (error) {
      outcome = { ok: false, status: null, error: (error as Error).message, permanent: error instanceof WebhookRefused };
    }
    const at = deps.clock.now();
    if (outcome.ok) {
      await deps.db.query(`UPDATE campaign_webhooks SET status = 'sent', sent_at = $2, last_status = $3, last_error = NULL, locked_until = NULL, holder_id = NULL WHERE id = $1`, [row.id, at, outcome.status]);
    } else {
      const failed = outcome.permanent || row.attempts >= MAX_ATTEMPTS;
      const delay = backoffDelay(row.attempts, { baseMs: 10_000, maxMs: 3_600_000 }, deps.random);
      await deps.db.query(`UPDATE campaign_webhooks SET status = $2, next_attempt_at = $3, last_status = $4, last_error = $5, locked_until = NULL, holder_id = NULL WHERE id = $1`, [
        row.id,
        failed ? 'failed' : 'queued',
        new Date(at.getTime() + delay),
        outcome.status,
        outcome.error,
      ]);
    }
  }
  return claimed.rows.length;
}

export function createWebhookWorker(deps: WebhookDeliveryDeps, pollMs: number): BackgroundWorker & { runDue(): Promise<number> } {
  let running = false;
  let loop: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let wake: (() => void) | null = null;
  const runDue = async () => {
    await reclaimDeadWebhookHolders(deps);
    let total = 0;
    for (;;) {
      const n = await deliverDueWebhooks(deps);
      total += n;
      if (n === 0) return total;
    }
  };
  return {
    name: 'campaign-webhooks',
    runDue,
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        while (running) {
          try {
            const released = await reclaimDeadWebhookHolders(deps);
            if (released > 0) deps.logger.warn({ released }, 'campaign webhooks of a process that died are delivered again');
            await deliverDueWebhooks(deps);
          } catch (error) {
            deps.logger.error({ err: error }, 'webhook delivery failed');
          }
          if (!running) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
            timer = setTimeout(resolve, pollMs);
          });
        }
      })();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
