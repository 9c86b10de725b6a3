/** The AI domain's services, built once by the composition root (side effects injected there). */
import type { Database } from '../db/database.js';
import type { CircuitOptions } from '../email/failover.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { AiService } from './personalize.js';
import { realSleep } from './resilience.js';
import { AiSettings } from './settings.js';

export interface AiServices {
  settings: AiSettings;
  service: AiService;
}

export interface AiServiceOptions {
  appSecret: string;
  random: () => number;
  sleep?: (ms: number) => Promise<void>;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  circuit?: CircuitOptions;
}

export function createAiServices(deps: { db: Database; clock: Clock; logger: Logger }, options: AiServiceOptions): AiServices {
  const settings = new AiSettings(deps.db, deps.clock, options.appSecret, {
    ...(options.circuit ? { circuit: options.circuit } : {}),
    retry: { baseBackoffMs: options.baseBackoffMs ?? 500, maxBackoffMs: options.maxBackoffMs ?? 5000, random: options.random, sleep: options.sleep ?? realSleep },
  });
  return { settings, service: new AiService({ ...deps, settings }) };
}
