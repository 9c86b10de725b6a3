/**
 * Test support for Guardian notifications: alerts and their timeline events inserted as the
 * evaluator would write them (the notification outbox), and local HTTP receivers — a Standard
 * Webhooks receiver that verifies every request with the `standardwebhooks` package and counts
 * what it accepted by webhook-id, and a Slack incoming-webhook stand-in.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Queryable } from '../src/db/database.js';

export async function insertRule(q: Queryable, workspaceId: string, channelIds: string[], name = 'Bounce rate'): Promise<string> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO guardian_rules (workspace_id, name, signal, comparison, threshold, window_seconds, min_volume, severity, channel_ids)
     VALUES ($1, $2, 'bounce_rate', '>', 0.05, 3600, 100, 'high', $3::uuid[]) RETURNING id`,
    [workspaceId, name, channelIds],
  );
  return rows[0]!.id;
}

/** An open alert of the rule with its `fired` event in the outbox; returns both ids. */
export async function fireAlert(q: Queryable, workspaceId: string, ruleId: string, at: Date, value = 0.083): Promise<{ alertId: string; eventId: string }> {
  const alert = await q.query<{ id: string }>(
    `INSERT INTO guardian_alerts (workspace_id, rule_id, rule_name, signal, severity, status, comparison, threshold, value, volume, peak_value, opened_at, last_fired_at)
     SELECT workspace_id, id, name, signal, severity, 'firing', comparison, threshold, $3, 1200, $3, $2, $2 FROM guardian_rules WHERE id = $1 RETURNING id`,
    [ruleId, at, value],
  );
  const alertId = alert.rows[0]!.id;
  const event = await q.query<{ id: string }>(
    `INSERT INTO guardian_alert_events (workspace_id, alert_id, kind, value, volume, at, fan_out) VALUES ($1, $2, 'fired', $3, 1200, $4, true) RETURNING id::text AS id`,
    [workspaceId, alertId, value, at],
  );
  return { alertId, eventId: event.rows[0]!.id };
}

export interface WebhookReceiver {
  url: string;
  /** Accepted (verified, 2xx) requests per webhook-id. */
  accepted: Map<string, number>;
  /** Every verified body, in arrival order. */
  bodies: Array<{ id: string; body: { type: string; timestamp: string; data: Record<string, unknown> } }>;
  unverified: number;
  /** While set, the receiver answers this status without accepting. */
  down: number | null;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret: () => string | null, options: { verifyTimestamp?: boolean } = {}): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = { url: '', accepted: new Map(), bodies: [], unverified: 0, down: null, close: async () => undefined };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      if (receiver.down !== null) {
        res.writeHead(receiver.down).end();
        return;
      }
      const key = secret();
      const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
      try {
        if (!key) throw new Error('no secret yet');
        const wh = new Webhook(key);
        if (options.verifyTimestamp === false) {
          // The signature only (the test's clock is far from the wall clock): the same library's signer.
          const expected = wh.sign(headers['webhook-id'], new Date(Number(headers['webhook-timestamp']) * 1000), raw);
          if (!headers['webhook-signature'].split(' ').includes(expected)) throw new Error('bad signature');
        } else {
          wh.verify(raw, headers);
        }
      } catch {
        receiver.unverified += 1;
        res.writeHead(401).end();
        return;
      }
      receiver.accepted.set(headers['webhook-id'], (receiver.accepted.get(headers['webhook-id']) ?? 0) + 1);
      receiver.bodies.push({ id: headers['webhook-id'], body: JSON.parse(raw) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/guardian`;
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}

export interface SlackReceiver {
  /** The prefix to configure (GUARDIAN_SLACK_URL_PREFIXES) and a channel URL under it. */
  prefix: string;
  url: string;
  messages: Array<{ webhookId: string | undefined; body: { text: string; blocks: Array<Record<string, unknown>> } }>;
  close(): Promise<void>;
}

export async function startSlackReceiver(): Promise<SlackReceiver> {
  const receiver: SlackReceiver = { prefix: '', url: '', messages: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      if (!req.url?.startsWith('/services/T000/B000/')) {
        res.writeHead(404).end('no_service');
        return;
      }
      receiver.messages.push({ webhookId: req.headers['webhook-id'] as string | undefined, body: JSON.parse(raw) });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.prefix = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/`;
  receiver.url = `${receiver.prefix}T000/B000/local0test0token`;
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}
