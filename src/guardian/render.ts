/**
 * What a notification says, per channel kind, from a delivery's payload (an alert event's
 * snapshot, a test, a digest's figures): the Standard Webhooks body, the Slack Block Kit message,
 * the transactional email and the in-app notification. Pure functions of the payload.
 */
import { escapeHtml } from '../platform/html.js';
import { isSignalKey, SIGNALS } from './signal-catalog.schemas.js';

export interface AlertPayload {
  type: 'alert';
  event: 'fired' | 'refired' | 'acknowledged' | 'resolved' | 'auto_resolved';
  at: string;
  link: string;
  alert: { id: string; ruleName: string; signal: string; scope: Record<string, unknown>; severity: string; status: string; comparison: string; threshold: number; value: number; volume: number | null; openedAt: string };
}
export interface TestPayload {
  type: 'test';
  at: string;
  link: string;
  channelName: string;
}
export interface DigestPayload {
  type: 'digest';
  at: string;
  link: string;
  frequency: 'daily' | 'weekly';
  from: string;
  to: string;
  sends: number;
  bounces: number;
  complaints: number;
  bounceRate: number | null;
  complaintRate: number | null;
  alertsFired: number;
  alertsResolved: number;
  topCampaigns: Array<{ id: string; name: string; sends: number }>;
}
export type NotificationPayload = AlertPayload | TestPayload | DigestPayload;

const EVENT_WORDS: Record<AlertPayload['event'], string> = {
  fired: 'Alert firing',
  refired: 'Alert still firing',
  acknowledged: 'Alert acknowledged',
  resolved: 'Alert resolved',
  auto_resolved: 'Alert resolved by itself',
};
const SEVERITY_EMOJI: Record<string, string> = { low: ':information_source:', medium: ':warning:', high: ':rotating_light:', critical: ':fire:' };

const num = (value: number): string => (Number.isInteger(value) ? String(value) : value.toPrecision(4).replace(/\.?0+$/, ''));
const pct = (rate: number | null): string => (rate === null ? 'n/a' : `${(rate * 100).toFixed(2)} %`);

/** A signal's value in its unit (signal-catalog.schemas.ts): "10 %", "320 s", "12". */
function valueOf(signal: string, value: number): string {
  const unit = isSignalKey(signal) ? SIGNALS[signal].unit : null;
  return unit === 'percent' ? `${num(value)} %` : unit === 'seconds' ? `${num(value)} s` : num(value);
}

/** One line: the delivery log's summary and the in-app title. */
export function summaryOf(payload: NotificationPayload): string {
  if (payload.type === 'alert') return `${EVENT_WORDS[payload.event]}: ${payload.alert.ruleName} (${payload.alert.severity})`;
  if (payload.type === 'test') return `Test notification to ${payload.channelName}`;
  return `${payload.frequency === 'daily' ? 'Daily' : 'Weekly'} Guardian digest`;
}

function details(payload: NotificationPayload): string[] {
  if (payload.type === 'alert') {
    const a = payload.alert;
    return [`Signal ${a.signal}: ${valueOf(a.signal, a.value)} ${a.comparison} threshold ${valueOf(a.signal, a.threshold)}${a.volume !== null ? ` (volume ${num(a.volume)})` : ''}`, `Severity ${a.severity}, opened ${a.openedAt}`];
  }
  if (payload.type === 'test') return ['This is a test from Unite Hub Guardian: this channel receives alert notifications.'];
  return [
    `${payload.from} – ${payload.to}`,
    `Sends: ${payload.sends}; bounce rate ${pct(payload.bounceRate)} (${payload.bounces}); complaint rate ${pct(payload.complaintRate)} (${payload.complaints})`,
    `Alerts fired: ${payload.alertsFired}; resolved: ${payload.alertsResolved}`,
    ...(payload.topCampaigns.length > 0 ? [`Top campaigns: ${payload.topCampaigns.map((c) => `${c.name} (${c.sends})`).join(', ')}`] : []),
  ];
}

/** The Standard Webhooks body: `type`, `timestamp`, `data`. */
export function webhookBody(payload: NotificationPayload): string {
  const type = payload.type === 'alert' ? `guardian.alert.${payload.event}` : payload.type === 'test' ? 'guardian.test' : 'guardian.digest';
  const { type: _omit, ...data } = payload;
  return JSON.stringify({ type, timestamp: payload.at, data });
}

export function slackMessage(payload: NotificationPayload): Record<string, unknown> {
  const title = summaryOf(payload);
  const blocks: Array<Record<string, unknown>> = [{ type: 'header', text: { type: 'plain_text', text: title.slice(0, 150), emoji: true } }];
  if (payload.type === 'alert') {
    const a = payload.alert;
    blocks.push({
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Severity*\n${SEVERITY_EMOJI[a.severity] ?? ''} ${a.severity}` },
        { type: 'mrkdwn', text: `*Signal*\n\`${a.signal}\`` },
        { type: 'mrkdwn', text: `*Value*\n${valueOf(a.signal, a.value)}` },
        { type: 'mrkdwn', text: `*Threshold*\n${a.comparison} ${valueOf(a.signal, a.threshold)}` },
      ],
    });
  } else {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: details(payload).join('\n') } });
  }
  blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: payload.type === 'alert' ? 'Open the alert' : 'Open Guardian' }, url: payload.link }] });
  return { text: `${title} — ${payload.link}`, blocks };
}

export function emailContent(payload: NotificationPayload): { subject: string; html: string; text: string } {
  const subject = `[Guardian] ${summaryOf(payload)}`;
  const lines = details(payload);
  const text = [summaryOf(payload), '', ...lines, '', `Open in Unite Hub: ${payload.link}`].join('\n');
  const html = `<!doctype html>
<html><body style="font-family: -apple-system, 'Segoe UI', Roboto, sans-serif; color: #1f2933; line-height: 1.5;">
<p><strong>${escapeHtml(summaryOf(payload))}</strong></p>
${lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n')}
<p><a href="${escapeHtml(payload.link)}">Open in Unite Hub</a></p>
</body></html>`;
  return { subject, html, text };
}

export function inAppContent(payload: NotificationPayload): { kind: 'alert' | 'test' | 'digest'; title: string; body: string; severity: string | null; alertId: string | null; link: string } {
  return {
    kind: payload.type,
    title: summaryOf(payload),
    body: details(payload).join('\n'),
    severity: payload.type === 'alert' ? payload.alert.severity : null,
    alertId: payload.type === 'alert' ? payload.alert.id : null,
    link: payload.link,
  };
}
