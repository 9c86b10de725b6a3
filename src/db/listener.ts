/**
 * LISTEN/NOTIFY on PostgreSQL through one dedicated connection that outlives PostgreSQL restarts:
 * when the connection is lost (a restart, a failover, an administrator terminating it) it is
 * opened again with a growing delay, every channel is subscribed again, and every subscriber is
 * woken once, since notifications sent while it was away are lost (workers then look for work
 * they may have missed). Statements on the connection take turns: node-postgres deprecates
 * queueing a query behind another one on a client.
 */
import pg from 'pg';

export interface ConnectionEvents {
  /** The listening connection was lost, or could not be opened again (it keeps trying). */
  lost(error: Error): void;
  /** The listening connection is back and subscribed to every channel again. */
  restored(): void;
}

export interface Notifications {
  /**
   * Subscribes `onNotify` to `channel`. When the connection is down, resolves once the handler is
   * registered: the subscription takes effect (and the handler is called once) when it is back.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Reconnection delays: doubled from the first up to the last, so a returning server is found within it. */
export const RECONNECT_DELAYS_MS = { first: 100, max: 2_000 } as const;

const CHANNEL = /^[a-z_][a-z0-9_]*$/;

export function createNotifications(connectionString: string, events: Partial<ConnectionEvents> = {}): Notifications {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  let client: pg.Client | null = null;
  /** The connection being opened, shared by everyone who needs it meanwhile. */
  let opening: Promise<pg.Client> | null = null;
  /** Statements on the connection, one at a time. */
  let turn: Promise<unknown> = Promise.resolve();
  let retryTimer: NodeJS.Timeout | null = null;
  let delayMs: number = RECONNECT_DELAYS_MS.first;
  let closed = false;

  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const result = turn.then(work);
    turn = result.catch(() => undefined);
    return result;
  };

  const wakeEveryone = () => {
    for (const set of handlers.values()) for (const handler of set) handler('');
  };

  function lose(lost: pg.Client, error: Error): void {
    if (client !== lost) return;
    client = null;
    void lost.end().catch(() => undefined);
    events.lost?.(error);
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (closed || retryTimer || handlers.size === 0) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      if (closed || client) return;
      connected().then(
        () => {
          delayMs = RECONNECT_DELAYS_MS.first;
          events.restored?.();
          wakeEveryone();
        },
        (error: Error) => {
          delayMs = Math.min(delayMs * 2, RECONNECT_DELAYS_MS.max);
          events.lost?.(error);
          scheduleReconnect();
        },
      );
    }, delayMs);
    retryTimer.unref();
  }

  /** The open, subscribed connection, opening it (and subscribing every channel) when needed. */
  function connected(): Promise<pg.Client> {
    if (client) return Promise.resolve(client);
    opening ??= inTurn(async () => {
      const fresh = new pg.Client({ connectionString, application_name: 'unite-hub listen' });
      // Without a listener, an 'error' on an idle client (the server going away) ends the process.
      fresh.on('error', (error) => lose(fresh, error));
      fresh.on('end', () => lose(fresh, new Error('LISTEN connection ended')));
      fresh.on('notification', (message) => {
        for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? '');
      });
      try {
        await fresh.connect();
        for (const channel of handlers.keys()) await fresh.query(`LISTEN ${channel}`);
      } catch (error) {
        await fresh.end().catch(() => undefined);
        throw error;
      }
      if (closed) {
        await fresh.end().catch(() => undefined);
        throw new Error('notifications are closed');
      }
      client = fresh;
      return fresh;
    }).finally(() => {
      opening = null;
    });
    return opening;
  }

  return {
    async listen(channel, onNotify) {
      if (!CHANNEL.test(channel)) throw new Error(`invalid channel name ${channel}`);
      if (closed) throw new Error('notifications are closed');
      let set = handlers.get(channel);
      const added = !set;
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
      }
      set.add(onNotify);
      const subscribed = set;
      try {
        const open = client;
        // A connection opened from now on subscribes every registered channel itself.
        if (!open) await connected();
        else if (added) await inTurn(() => open.query(`LISTEN ${channel}`));
      } catch (error) {
        events.lost?.(error as Error);
        scheduleReconnect();
      }
      return async () => {
        subscribed.delete(onNotify);
      };
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = null;
      const open = client ?? (await opening?.catch(() => null)) ?? null;
      client = null;
      if (open) {
        open.removeAllListeners('end');
        await open.end().catch(() => undefined);
      }
    },
  };
}
