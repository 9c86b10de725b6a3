/**
 * The governed AI call: policy, budget reservation, PII redaction, the provider call (with
 * retries and breaker), output checks, stand-in restoration, budget settlement and the
 * ai_calls row — in that order, for every call. Calls are governed in batches (governedMany: one
 * statement each for the context, the reservation, the settlement and the log rows, whatever
 * the batch's size); a single call is a batch of one. It never throws for a provider or governance
 * failure: the caller gets the original content back with the outcome and the reason.
 *
 * Outcomes: `ok` (the generated content is usable), `refused` (governance stopped the call before
 * anything left the process: budget, policy, unknown price), `fallback` (the call was made but its
 * result is not usable: provider error, timeout, malformed or refused output), `error` (a bug of
 * ours, logged; the original is used).
 */
import type { Database, Queryable } from '../db/database.js';
import type { Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { bandOf } from '../scoring/scoring.js';
import { reserveMany, settleBudget } from './budget.js';
import { logCalls, type AiOperation, type AiOutcome } from './calls.js';
import { personalizePrompt, subjectsPrompt } from './chat.js';
import { checkGenerated } from './checks.js';
import { createOfflineProvider } from './offline.js';
import { loadAiContext, type AiContext } from './context.js';
import { costOf, priceIn, type AiPolicy } from './policy.js';
import type { CheckedAnswer, OfflineCompiler, PersonalizedValue } from './offline-compiled.js';
import { AiCallError, type AiProvider, type ContactFacts, type EmailDraft, type Personalized, type Usage } from './provider.js';
import { Redactor } from './redaction.js';
import type { AiSettings } from './settings.js';

export type AiMode = 'offline' | 'provider';

export interface CallLinks {
  messageId?: string | null;
  templateId?: string | null;
  campaignId?: string | null;
}

export interface PersonalizeResult {
  outcome: AiOutcome;
  reasonCode: string | null;
  reason: string | null;
  /** The personalized draft when `outcome` is ok, otherwise the original. */
  draft: EmailDraft;
  changes: string[];
  provider: string;
  model: string;
  cost: number;
  callId: string;
}

const REASON_BY_KIND: Record<AiCallError['kind'], string> = {
  auth: 'PROVIDER_AUTH',
  bad_request: 'PROVIDER_BAD_REQUEST',
  rate_limited: 'PROVIDER_RATE_LIMITED',
  server: 'PROVIDER_SERVER_ERROR',
  timeout: 'PROVIDER_TIMEOUT',
  network: 'PROVIDER_UNREACHABLE',
  malformed: 'MALFORMED_OUTPUT',
  circuit_open: 'CIRCUIT_OPEN',
};

/** The longest text of a custom field that goes into a prompt. */
const MAX_FIELD_CHARS = 500;

interface Governed<T> {
  outcome: AiOutcome;
  reasonCode: string | null;
  reason: string | null;
  value: T | null;
  provider: AiProvider;
  cost: number;
  callId: string;
}

type CallAnswer<T> = { value: T; usage: Usage } | { refused: string; usage: Usage };

/** One call of a governed batch. */
export interface GovernedItem<T> {
  links: CallLinks & { contactId?: string | null };
  /** Values of custom fields the policy marks personal (redacted before the prompt leaves). */
  personalValues: string[];
  /** The prompt's size in bytes once redacted (tokens never exceed it). */
  worstCaseIn: (redactor: Redactor) => number;
  call: (provider: AiProvider, redactor: Redactor, maxTokens: number) => Promise<CallAnswer<T>>;
}

/** A batch's calls in flight at once when the caller does not say. */
const DEFAULT_CONCURRENCY = 8;

export class AiService {
  constructor(
    private readonly deps: { db: Database; clock: Clock; logger: Logger; settings: AiSettings },
  ) {}

  /** The contact's own data, as the personalizer sees it (before redaction). */
  async factsOf(workspaceId: string, contactId: string): Promise<ContactFacts | null> {
    return (await this.factsOfMany(this.deps.db, workspaceId, [contactId])).get(contactId) ?? null;
  }

  /** Several contacts' data in one statement. */
  async factsOfMany(q: Queryable, workspaceId: string, contactIds: string[]): Promise<Map<string, ContactFacts>> {
    const facts = new Map<string, ContactFacts>();
    if (contactIds.length === 0) return facts;
    const result = await q.query<{ id: string; first_name: string | null; last_name: string | null; email: string; phone: string | null; company: string | null; job_title: string | null; status: string; score: number; last_activity_at: Date | null; custom_fields: Record<string, unknown> }>(
      'SELECT id, first_name, last_name, email, phone, company, job_title, status, score, last_activity_at, custom_fields FROM contacts WHERE workspace_id = $1 AND id = ANY($2::uuid[])',
      [workspaceId, [...new Set(contactIds)]],
    );
    const now = this.deps.clock.now().getTime();
    for (const c of result.rows) {
      const custom: ContactFacts['custom'] = {};
      for (const [k, v] of Object.entries(c.custom_fields ?? {})) {
        if (typeof v === 'string') custom[k] = v.slice(0, MAX_FIELD_CHARS);
        else if (typeof v === 'number' || typeof v === 'boolean') custom[k] = v;
      }
      const days = c.last_activity_at ? Math.floor((now - c.last_activity_at.getTime()) / 86_400_000) : null;
      facts.set(c.id, { firstName: c.first_name, lastName: c.last_name, email: c.email, phone: c.phone, company: c.company, jobTitle: c.job_title, status: c.status, scoreBand: bandOf(c.score), daysSinceActivity: days, custom });
    }
    return facts;
  }

  /** The provider a mode uses under a context already read. */
  providerIn(workspaceId: string, context: AiContext, mode: AiMode): AiProvider {
    return mode === 'offline' ? createOfflineProvider() : this.deps.settings.providerFromRow(workspaceId, context.settings);
  }

  /**
   * Runs a batch of governed calls of one operation for one workspace with one provider: policy
   * and price checked once, each prompt redacted, the batch's worst cases reserved in one
   * statement (calls past the budget refused), the provider calls made `concurrency` at a time,
   * the actual cost settled in one statement and every call's log row written in one statement.
   * All statements go through `q` (a caller's transaction, or the pool).
   */
  async governedMany<T>(
    q: Queryable,
    workspaceId: string,
    actor: Actor,
    operation: AiOperation,
    context: AiContext,
    provider: AiProvider,
    items: Array<GovernedItem<T>>,
    concurrency = DEFAULT_CONCURRENCY,
  ): Promise<Array<Governed<T>>> {
    const { clock } = this.deps;
    const policy = context.policy;
    const started = performance.now();
    const outcomes = items.map(() => ({ outcome: 'refused' as AiOutcome, reasonCode: null as string | null, reason: null as string | null, value: null as T | null, usage: { tokensIn: 0, tokensOut: 0 } as Usage, cost: 0, latencyMs: 0 }));
    const refuseAll = (code: string, reason: string) => outcomes.forEach((o) => Object.assign(o, { outcome: 'refused', reasonCode: code, reason }));
    const price = priceIn(context.prices, provider.kind, provider.model);
    let reserved = 0;
    let actual: number;
    if (!policy.allowedProviders.includes(provider.kind)) refuseAll('AI_POLICY_FORBIDS', `the policy does not allow the ${provider.kind} provider`);
    else if (provider.kind !== 'offline' && policy.allowedModels.length > 0 && !policy.allowedModels.includes(provider.model)) refuseAll('AI_POLICY_FORBIDS', `the policy does not allow the model ${provider.model}`);
    else if (!price) refuseAll('AI_MODEL_UNKNOWN', `no price is known for ${provider.kind} model ${provider.model}`);
    else {
      // Redaction only matters when data leaves the process; the offline rules run here.
      const redactors = items.map((item) => new Redactor(item.personalValues, policy.redactPii && provider.kind !== 'offline'));
      const free = price.inputPerMTok === 0 && price.outputPerMTok === 0;
      const worst = items.map((item, i) => (free ? 0 : costOf(price, item.worstCaseIn(redactors[i]!), policy.maxTokens)));
      const paid = worst.map((w, i) => (w > 0 ? i : -1)).filter((i) => i >= 0);
      const fits = paid.length > 0 ? await reserveMany(q, workspaceId, clock.now(), paid.map((i) => worst[i]!)) : 0;
      const admitted = new Set(paid.slice(0, fits));
      reserved = paid.slice(0, fits).reduce((sum, i) => sum + worst[i]!, 0);
      const run = async (i: number): Promise<void> => {
        const o = outcomes[i]!;
        if (worst[i]! > 0 && !admitted.has(i)) {
          Object.assign(o, { outcome: 'refused', reasonCode: 'AI_BUDGET_EXCEEDED', reason: 'this month’s AI budget cannot cover the call' });
          return;
        }
        const callStarted = performance.now();
        try {
          const answer = await items[i]!.call(provider, redactors[i]!, policy.maxTokens);
          o.usage = answer.usage;
          if ('refused' in answer) Object.assign(o, { outcome: 'fallback', reasonCode: 'OUTPUT_REFUSED', reason: answer.refused });
          else Object.assign(o, { outcome: 'ok', value: answer.value });
        } catch (thrown) {
          if (thrown instanceof AiCallError) Object.assign(o, { outcome: 'fallback', reasonCode: REASON_BY_KIND[thrown.kind], reason: thrown.message, usage: thrown.usage ?? o.usage });
          else {
            this.deps.logger.error({ err: thrown, workspaceId, operation }, 'AI call failed unexpectedly');
            Object.assign(o, { outcome: 'error', reasonCode: 'INTERNAL', reason: 'an unexpected error; the original is used' });
          }
        }
        o.cost = free ? 0 : costOf(price, o.usage.tokensIn, o.usage.tokensOut);
        o.latencyMs = Math.round(performance.now() - callStarted);
      };
      let next = 0;
      try {
        await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), items.length) }, async () => {
          while (next < items.length) await run(next++);
        }));
      } finally {
        // Each call settles at most its reservation (the reservation is its worst case).
        actual = outcomes.reduce((sum, o, i) => sum + (admitted.has(i) ? Math.min(o.cost, worst[i]!) : 0), 0);
        if (reserved > 0) await settleBudget(q, workspaceId, clock.now(), reserved, Math.min(actual, reserved));
      }
    }
    const at = clock.now();
    const refusedLatency = Math.round(performance.now() - started);
    const ids = await logCalls(
      q,
      outcomes.map((o, i) => ({
        workspaceId,
        actor,
        operation,
        provider: provider.kind,
        model: provider.model,
        tokensIn: o.usage.tokensIn,
        tokensOut: o.usage.tokensOut,
        cost: o.cost,
        latencyMs: o.outcome === 'refused' ? refusedLatency : o.latencyMs,
        outcome: o.outcome,
        reasonCode: o.reasonCode,
        reason: o.reason,
        messageId: items[i]!.links.messageId ?? null,
        templateId: items[i]!.links.templateId ?? null,
        campaignId: items[i]!.links.campaignId ?? null,
        contactId: items[i]!.links.contactId ?? null,
        at,
      })),
    );
    return outcomes.map((o, i) => ({ outcome: o.outcome, reasonCode: o.reasonCode, reason: o.reason, value: o.value, provider, cost: o.cost, callId: ids[i]! }));
  }

  /**
   * The governed personalization of one draft for one contact (a batch item). With `offline` (a
   * sender batch's compiler), the offline rules' output comes from the original's compiled shell
   * where that gives the same result (offline-compiled.ts), with the content sent in `sent`.
   */
  personalizeItem(draft: EmailDraft, contactId: string, facts: ContactFacts | null, policy: AiPolicy, links: CallLinks = {}, offline?: OfflineCompiler): GovernedItem<PersonalizedValue> {
    return {
      links: { ...links, contactId },
      personalValues: facts ? policy.personalFields.map((k) => facts.custom[k]).filter((v): v is string => typeof v === 'string') : [],
      worstCaseIn: (r) => Buffer.byteLength(JSON.stringify(personalizePrompt(r.redactDraft(draft), r.redactFacts(facts ?? emptyFacts()), 0))),
      call: async (provider, redactor, maxTokens) => {
        if (!facts) return { refused: 'the contact does not exist', usage: { tokensIn: 0, tokensOut: 0 } };
        // Stand-ins are handed out in the same order for the draft and the facts as in the estimate.
        const sentDraft = redactor.redactDraft(draft);
        const sentFacts = redactor.redactFacts(facts);
        const checkAnswer = async (answer: Personalized, usage: Usage): Promise<CheckedAnswer> => {
          const out = answer.draft;
          const unknown = redactor.unknownStandIns(`${out.subject}${out.preheader}${out.html}`);
          if (unknown.length > 0) return { refused: `the output has stand-ins we did not send: ${unknown.slice(0, 3).join(' ')}`, usage };
          const checked = await checkGenerated(sentDraft, out);
          if (!checked.ok) return { refused: checked.reason, usage };
          return { value: { draft: redactor.restoreDraft(checked.draft), changes: answer.changes }, usage };
        };
        if (offline && provider.kind === 'offline') {
          const compiled = await offline.personalize(sentDraft, sentFacts, (answer) => checkAnswer(answer, { tokensIn: 0, tokensOut: 0 }));
          if (compiled) return compiled;
        }
        const result = await provider.personalize(sentDraft, sentFacts, maxTokens);
        return checkAnswer(result.value, result.usage);
      },
    };
  }

  /** Personalizes a draft for one contact; never throws for AI failures (see the module comment). */
  async personalize(input: { workspaceId: string; actor: Actor; draft: EmailDraft; contactId: string; mode: AiMode; links?: CallLinks }): Promise<PersonalizeResult> {
    const { db } = this.deps;
    const [context, facts] = await Promise.all([loadAiContext(db, input.workspaceId), this.factsOf(input.workspaceId, input.contactId)]);
    const provider = this.providerIn(input.workspaceId, context, input.mode);
    const [governed] = await this.governedMany(db, input.workspaceId, input.actor, 'personalize', context, provider, [this.personalizeItem(input.draft, input.contactId, facts, context.policy, input.links)]);
    return personalizeResultOf(governed!, input.draft);
  }

  /** N subject lines for an A/B split; each is checked like personalized content. */
  async subjectVariants(input: { workspaceId: string; actor: Actor; subject: string; count: number; mode: AiMode; links?: CallLinks }): Promise<{ outcome: AiOutcome; reasonCode: string | null; reason: string | null; variants: string[]; provider: string; model: string; callId: string }> {
    const original: EmailDraft = { subject: input.subject, preheader: '', html: '<p></p>' };
    const context = await loadAiContext(this.deps.db, input.workspaceId);
    const provider = this.providerIn(input.workspaceId, context, input.mode);
    const [governed] = await this.governedMany<string[]>(this.deps.db, input.workspaceId, input.actor, 'subject_variants', context, provider, [
      {
        links: input.links ?? {},
        personalValues: [],
        worstCaseIn: (r) => Buffer.byteLength(JSON.stringify(subjectsPrompt(r.redact(input.subject), input.count, 0))),
        call: async (p, redactor, maxTokens) => {
          const sent = redactor.redact(input.subject);
          const result = await p.subjectVariants(sent, input.count, maxTokens);
          const kept: string[] = [];
          for (const candidate of result.value) {
            if (redactor.unknownStandIns(candidate).length > 0) continue;
            const checked = await checkGenerated({ ...original, subject: sent }, { ...original, subject: candidate });
            if (checked.ok) kept.push(redactor.restore(checked.draft.subject));
          }
          if (kept.length === 0) return { refused: 'no generated subject line passed the checks', usage: result.usage };
          return { value: kept, usage: result.usage };
        },
      },
    ]);
    const g = governed!;
    return { outcome: g.outcome, reasonCode: g.reasonCode, reason: g.reason, variants: g.value ?? [], provider: g.provider.kind, model: g.provider.model, callId: g.callId };
  }
}

export function personalizeResultOf(governed: Governed<PersonalizedValue>, original: EmailDraft): PersonalizeResult {
  const ok = governed.outcome === 'ok' && governed.value;
  return {
    outcome: governed.outcome,
    reasonCode: governed.reasonCode,
    reason: governed.reason,
    draft: ok ? governed.value!.draft : original,
    changes: ok ? governed.value!.changes : [],
    provider: governed.provider.kind,
    model: governed.provider.model,
    cost: governed.cost,
    callId: governed.callId,
  };
}

function emptyFacts(): ContactFacts {
  return { firstName: null, lastName: null, email: null, phone: null, company: null, jobTitle: null, status: null, scoreBand: null, daysSinceActivity: null, custom: {} };
}
