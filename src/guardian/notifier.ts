/**
 * The Guardian notifier: its services (channels, test sends, digests — what the routes need) and
 * its worker, which runs in the worker role: reclaim deliveries of dead processes, fan the outbox
 * out into deliveries, make due digests, deliver due deliveries on a few concurrent lanes; woken by
 * NOTIFY (fan-out and the evaluator notify at commit) or the poll.
 */
import type { BackgroundWorker } from '../init.js';
import { createWorkerLoop } from '../platform/worker-loop.js';
import { getChannelRow, type ChannelDeps } from './channels.js';
import { deliverDue, deliverNow, reclaimDeadNotifierHolders, type DeliveryDeps } from './delivery.js';
import { makeDueDigests } from './digests.js';
import { fanOutAlertEvents, GUARDIAN_DELIVERY_CHANNEL } from './fanout.js';
import type { TestSendView } from './channels.schemas.js';

export type NotifierDeps = DeliveryDeps & ChannelDeps & { publicUrl: string };

/**
 * Delivery lanes: each claims a batch, sends it, records it, and goes again, independently, so one
 * lane's requests are in flight while another's claim or record is in the database.
 */
export const DELIVERY_LANES = 3;
/** Batches a lane takes per run of the loop, so fan-out, dead holders and digests get their turn. */
const BATCHES_PER_LANE = 5;

/** Delivers due deliveries on `lanes` lanes; returns how many were attempted. */
export async function deliverOnLanes(deps: DeliveryDeps, lanes = DELIVERY_LANES): Promise<number> {
  const counts = await Promise.all(
    Array.from({ length: lanes }, async () => {
      let total = 0;
      for (let i = 0; i < BATCHES_PER_LANE; i += 1) {
        const n = await deliverDue(deps);
        total += n;
        if (n === 0) break;
      }
      return total;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

export interface GuardianNotifier {
  deps: NotifierDeps;
  worker: BackgroundWorker;
  /** Everything due now, until nothing is left (tests, benchmarks): returns deliveries attempted. */
  runDue(): Promise<number>;
  testSend(workspaceId: string, channelId: string): Promise<TestSendView>;
}

export function createGuardianNotifier(deps: NotifierDeps, pollMs: number): GuardianNotifier {
  // Dead holders and due digests are looked for once a second, not between every two batches.
  let lastHousekeeping = 0;
  const batch = async (): Promise<number> => {
    let released = 0;
    let digests = 0;
    const now = deps.clock.now().getTime();
    if (Math.abs(now - lastHousekeeping) >= 1000) {
      lastHousekeeping = now;
      released = await reclaimDeadNotifierHolders(deps);
      if (released > 0) deps.logger.warn({ released }, 'guardian deliveries of a process that died were released');
      digests = await makeDueDigests(deps);
    }
    const fanned = await fanOutAlertEvents(deps);
    const delivered = await deliverOnLanes(deps);
    return released + fanned + digests + delivered;
  };
  const loop = createWorkerLoop({ name: 'guardian-notifier', db: deps.db, logger: deps.logger, channel: GUARDIAN_DELIVERY_CHANNEL, pollMs, runBatch: batch });
  return {
    deps,
    worker: { name: 'guardian-notifier', start: () => loop.start(), stop: () => loop.stop() },
    async runDue() {
      let delivered = 0;
      for (;;) {
        await reclaimDeadNotifierHolders(deps);
        while ((await fanOutAlertEvents(deps)) > 0);
        while ((await makeDueDigests(deps)) > 0);
        const n = await deliverOnLanes(deps);
        delivered += n;
        if (n === 0) return delivered;
      }
    },
    async testSend(workspaceId, channelId) {
      const channel = await getChannelRow(deps.db, workspaceId, channelId);
      const now = deps.clock.now();
      const result = await deliverNow(deps, { workspaceId, channel, purpose: 'test', payload: { type: 'test', at: now.toISOString(), link: `${deps.publicUrl}/guardian`, channelName: channel.name } });
      return { deliveryId: result.id, status: result.outcome === 'sent' ? 'sent' : 'failed', responseStatus: result.responseStatus, error: result.error, durationMs: result.durationMs };
    },
  };
}
