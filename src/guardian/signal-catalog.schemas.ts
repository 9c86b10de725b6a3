/**
 * The Guardian signal catalog: each signal's key, label, unit, family, what its volume counts and
 * which scope keys it takes. A leaf module (no database, no node: imports) so the web app's rule
 * editor shows the same list the API validates against. How each one is computed: signals.ts.
 */

export type SignalUnit = 'percent' | 'count' | 'seconds';

export interface SignalInfo {
  key: SignalKey;
  label: string;
  unit: SignalUnit;
  /** sending: from the workspace's own sends and events; system: queues, workers, the API. */
  family: 'sending' | 'system';
  /** What the rule's minimum volume counts; null when the signal has no volume (a level or a lag). */
  volume: 'sends' | 'messages' | 'webhook actions' | 'API requests' | 'due items' | null;
  /** Whether the rule's window changes what is measured (a lag is measured now, whatever the window). */
  windowed: boolean;
  /** Scope keys the signal takes (e.g. campaignId); {} measures the whole workspace. */
  scopeKeys: readonly string[];
  description: string;
}

export const SIGNAL_KEYS = [
  'bounce_rate',
  'complaint_rate',
  'unsubscribe_rate',
  'failed_sends',
  'uncertain_sends',
  'provider_circuit_open',
  'ai_budget_spent',
  'engine_lag',
  'outbox_age',
  'event_backlog_age',
  'event_backlog_count',
  'webhook_failures',
  'api_error_rate',
  'worker_heartbeat',
] as const;
export type SignalKey = (typeof SIGNAL_KEYS)[number];

export const SIGNALS: Record<SignalKey, SignalInfo> = {
  bounce_rate: { key: 'bounce_rate', label: 'Bounce rate', unit: 'percent', family: 'sending', volume: 'sends', windowed: true, scopeKeys: [], description: 'Bounces reported by the providers in the window, as a percentage of the emails sent in the window.' },
  complaint_rate: { key: 'complaint_rate', label: 'Complaint rate', unit: 'percent', family: 'sending', volume: 'sends', windowed: true, scopeKeys: [], description: 'Spam complaints reported by the providers in the window, as a percentage of the emails sent in the window.' },
  unsubscribe_rate: { key: 'unsubscribe_rate', label: 'Unsubscribe rate per campaign', unit: 'percent', family: 'sending', volume: 'sends', windowed: true, scopeKeys: ['campaignId'], description: "Unsubscribes from a campaign's emails as a percentage of that campaign's sends in the window; the worst campaign with enough sends (or the one in scope)." },
  failed_sends: { key: 'failed_sends', label: 'Failed sends', unit: 'count', family: 'sending', volume: 'messages', windowed: true, scopeKeys: [], description: 'Emails queued in the window that failed for good (refused by every provider or out of attempts).' },
  uncertain_sends: { key: 'uncertain_sends', label: 'Sends held as uncertain', unit: 'count', family: 'sending', volume: null, windowed: true, scopeKeys: [], description: 'Emails queued in the window and held as uncertain (the provider may have accepted them) until an operator resends or marks them sent.' },
  provider_circuit_open: { key: 'provider_circuit_open', label: 'Provider circuits open', unit: 'count', family: 'sending', volume: null, windowed: false, scopeKeys: [], description: "The workspace's email providers whose circuit breaker is open in a running process right now." },
  ai_budget_spent: { key: 'ai_budget_spent', label: 'AI budget spent', unit: 'percent', family: 'sending', volume: null, windowed: false, scopeKeys: [], description: "AI spend this calendar month (UTC) as a percentage of the workspace's monthly AI budget; quiet without a budget." },
  engine_lag: { key: 'engine_lag', label: 'Campaign engine lag', unit: 'seconds', family: 'system', volume: 'due items', windowed: false, scopeKeys: [], description: "How late the workspace's oldest due campaign step is (due but not yet run by the engine)." },
  outbox_age: { key: 'outbox_age', label: 'Outbox age', unit: 'seconds', family: 'system', volume: 'due items', windowed: false, scopeKeys: [], description: "How long the workspace's oldest due email has been waiting in the outbox." },
  event_backlog_age: { key: 'event_backlog_age', label: 'Event processing backlog age', unit: 'seconds', family: 'system', volume: 'due items', windowed: false, scopeKeys: [], description: "Age of the workspace's oldest event batch waiting for the event processor (lead score, segments)." },
  event_backlog_count: { key: 'event_backlog_count', label: 'Event processing backlog', unit: 'count', family: 'system', volume: null, windowed: false, scopeKeys: [], description: "Event batches of the workspace waiting for the event processor." },
  webhook_failures: { key: 'webhook_failures', label: 'Webhook action failures', unit: 'count', family: 'system', volume: 'webhook actions', windowed: true, scopeKeys: [], description: 'Campaign webhook actions created in the window that failed for good.' },
  api_error_rate: { key: 'api_error_rate', label: 'API 5xx rate', unit: 'percent', family: 'system', volume: 'API requests', windowed: true, scopeKeys: [], description: 'Responses with a 5xx status as a percentage of all HTTP responses of the installation in the window (every process).' },
  worker_heartbeat: { key: 'worker_heartbeat', label: 'Worker heartbeat age', unit: 'seconds', family: 'system', volume: null, windowed: false, scopeKeys: [], description: 'Seconds since any process last reported running a background worker (the worst worker); processes report every 5 s.' },
};

export function isSignalKey(value: string): value is SignalKey {
  return (SIGNAL_KEYS as readonly string[]).includes(value);
}

/** The largest threshold that makes sense for a unit (a rate cannot pass 100 %). */
export const THRESHOLD_MAX: Record<SignalUnit, number> = { percent: 100, count: 1_000_000_000, seconds: 30 * 86_400 };

export const MIN_WINDOW_SECONDS = 60;
export const MAX_WINDOW_SECONDS = 30 * 86_400;
