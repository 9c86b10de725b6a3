/**
 * The governed AI call: policy, budget reservation, PII redaction, the provider call (with
 * retries and breaker), output checks, stand-in restoration, budget settlement and the
 * ai_calls row — in that order, for every call. It never throws for a provider or governance
 * failure: the caller gets the original content back with the outcome and the reason.
 *
 * Outcomes: `ok` (the generated content is usable), `refused` (governance stopped the call before
 * anything left the process: budget, policy, unknown price), `fallback` (the call was made but its
 * result is not usable: provider error, timeout, malformed or refused output), `error` (a bug of
 * ours, logged; the original is used).
 */
import type { Database } from '../db/database.js';
import type { Actor } from '../identity/audit.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { bandOf } from '../scoring/scoring.js';
import { reserveBudget, settleBudget } from './budget.js';
import { logCall, type AiOperation, type AiOutcome } from './calls.js';
import { personalizePrompt, subjectsPrompt } from './chat.js';
import { checkGenerated } from './checks.js';
import { createOfflineProvider } from './offline.js';
import { costOf, getPolicy, priceOf, type AiPolicy } from './policy.js';
import { AiCallError, type AiProvider, type ContactFacts, type EmailDraft, type Usage } from './provider.js';
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

export class AiService {
  constructor(
    private readonly deps: { db: Database; clock: Clock; logger: Logger; settings: AiSettings },
  ) {}

  /** The contact's own data, as the personalizer sees it (before redaction). */
  async factsOf(workspaceId: string, contactId: string): Promise<ContactFacts | null> {
    const result = await this.deps.db.query<{ first_name: string | null; last_name: string | null; email: string; phone: string | null; company: string | null; job_title: string | null; status: string; score: number; last_activity_at: Date | null; custom_fields: Record<string, unknown> }>(
      'SELECT first_name, last_name, email, phone, company, job_title, status, score, last_activity_at, custom_fields FROM contacts WHERE workspace_id = $1 AND id = $2',
      [workspaceId, contactId],
    );
    const c = result.rows[0];
    if (!c) return null;
    const custom: ContactFacts['custom'] = {};
    for (const [k, v] of Object.entries(c.custom_fields ?? {})) {
      if (typeof v === 'string') custom[k] = v.slice(0, MAX_FIELD_CHARS);
      else if (typeof v === 'number' || typeof v === 'boolean') custom[k] = v;
    }
    const days = c.last_activity_at ? Math.floor((this.deps.clock.now().getTime() - c.last_activity_at.getTime()) / 86_400_000) : null;
    return { firstName: c.first_name, lastName: c.last_name, email: c.email, phone: c.phone, company: c.company, jobTitle: c.job_title, status: c.status, scoreBand: bandOf(c.score), daysSinceActivity: days, custom };
  }

  private async providerFor(workspaceId: string, mode: AiMode): Promise<AiProvider> {
    return mode === 'offline' ? createOfflineProvider() : this.deps.settings.providerFor(workspaceId);
  }

  /**
   * Runs one governed call. `call` gets the redactor (identity when redaction is off) and returns
   * the value with its usage; `worstCaseIn` is the prompt's size in bytes (tokens never exceed it).
   */
  private async governed<T>(
    workspaceId: string,
    actor: Actor,
    operation: AiOperation,
    mode: AiMode,
    links: CallLinks & { contactId?: string | null },
    worstCaseIn: (redactor: Redactor) => number,
    call: (provider: AiProvider, redactor: Redactor, maxTokens: number) => Promise<{ value: T; usage: Usage } | { refused: string; usage: Usage }>,
    personalValues: string[],
    policy: AiPolicy,
  ): Promise<Governed<T>> {
    const { db, clock } = this.deps;
    const started = performance.now();
    const provider = await this.providerFor(workspaceId, mode);
    let usage: Usage = { tokensIn: 0, tokensOut: 0 };
    let cost = 0;
    const finish = async (outcome: AiOutcome, reasonCode: string | null, reason: string | null, value: T | null): Promise<Governed<T>> => {
      const callId = await logCall(db, {
        workspaceId,
        actor,
        operation,
        provider: provider.kind,
        model: provider.model,
        tokensIn: usage.tokensIn,
        tokensOut: usage.tokensOut,
        cost,
        latencyMs: Math.round(performance.now() - started),
        outcome,
        reasonCode,
        reason,
        messageId: links.messageId ?? null,
        templateId: links.templateId ?? null,
        campaignId: links.campaignId ?? null,
        contactId: links.contactId ?? null,
        at: clock.now(),
      });
      return { outcome, reasonCode, reason, value, provider, cost, callId };
    };
    if (!policy.allowedProviders.includes(provider.kind)) return finish('refused', 'AI_POLICY_FORBIDS', `the policy does not allow the ${provider.kind} provider`, null);
    if (provider.kind !== 'offline' && policy.allowedModels.length > 0 && !policy.allowedModels.includes(provider.model)) {
      return finish('refused', 'AI_POLICY_FORBIDS', `the policy does not allow the model ${provider.model}`, null);
    }
    const price = await priceOf(db, workspaceId, provider.kind, provider.model);
    if (!price) return finish('refused', 'AI_MODEL_UNKNOWN', `no price is known for ${provider.kind} model ${provider.model}`, null);
    // Redaction only matters when data leaves the process; the offline rules run here.
    const redactor = new Redactor(personalValues, policy.redactPii && provider.kind !== 'offline');
    const worstCase = costOf(price, worstCaseIn(redactor), policy.maxTokens);
    const reserved = worstCase > 0 ? worstCase : 0;
    if (reserved > 0 && !(await reserveBudget(db, workspaceId, clock.now(), reserved))) {
      return finish('refused', 'AI_BUDGET_EXCEEDED', 'this month’s AI budget cannot cover the call', null);
    }
    try {
      const result = await call(provider, redactor, policy.maxTokens);
      usage = result.usage;
      cost = costOf(price, usage.tokensIn, usage.tokensOut);
      if ('refused' in result) return await finish('fallback', 'OUTPUT_REFUSED', result.refused, null);
      return await finish('ok', null, null, result.value);
    } catch (thrown) {
      if (thrown instanceof AiCallError) {
        usage = thrown.usage ?? usage;
        cost = costOf(price, usage.tokensIn, usage.tokensOut);
        return await finish('fallback', REASON_BY_KIND[thrown.kind], thrown.message, null);
      }
      this.deps.logger.error({ err: thrown, workspaceId, operation }, 'AI call failed unexpectedly');
      return await finish('error', 'INTERNAL', 'an unexpected error; the original is used', null);
    } finally {
      if (reserved > 0) await settleBudget(db, workspaceId, clock.now(), reserved, Math.min(cost, reserved));
    }
  }

  /** Personalizes a draft for one contact; never throws for AI failures (see the module comment). */
  /** `policy`: the workspace's, when the caller already read it (read here otherwise). */
  async personalize(input: { workspaceId: string; actor: Actor; draft: EmailDraft; contactId: string; mode: AiMode; links?: CallLinks; policy?: AiPolicy }): Promise<PersonalizeResult> {
    const facts = await this.factsOf(input.workspaceId, input.contactId);
    const original = input.draft;
    const policy = input.policy ?? (await getPolicy(this.deps.db, input.workspaceId));
    const personalValues = facts ? policy.personalFields.map((k) => facts.custom[k]).filter((v): v is string => typeof v === 'string') : [];
    const governed = await this.governed<{ draft: EmailDraft; changes: string[] }>(
      input.workspaceId,
      input.actor,
      'personalize',
      input.mode,
      { ...input.links, contactId: input.contactId },
      (r) => Buffer.byteLength(JSON.stringify(personalizePrompt(r.redactDraft(original), r.redactFacts(facts ?? emptyFacts()), 0))),
      async (provider, redactor, maxTokens) => {
        if (!facts) return { refused: 'the contact does not exist', usage: { tokensIn: 0, tokensOut: 0 } };
        // Stand-ins are handed out in the same order for the draft and the facts as in the estimate.
        const sentDraft = redactor.redactDraft(original);
        const result = await provider.personalize(sentDraft, redactor.redactFacts(facts), maxTokens);
        const out = result.value.draft;
        const unknown = redactor.unknownStandIns(`${out.subject}${out.preheader}${out.html}`);
        if (unknown.length > 0) return { refused: `the output has stand-ins we did not send: ${unknown.slice(0, 3).join(' ')}`, usage: result.usage };
        const checked = await checkGenerated(sentDraft, out);
        if (!checked.ok) return { refused: checked.reason, usage: result.usage };
        return { value: { draft: redactor.restoreDraft(checked.draft), changes: result.value.changes }, usage: result.usage };
      },
      personalValues,
      policy,
    );
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

  /** N subject lines for an A/B split; each is checked like personalized content. */
  async subjectVariants(input: { workspaceId: string; actor: Actor; subject: string; count: number; mode: AiMode; links?: CallLinks }): Promise<{ outcome: AiOutcome; reasonCode: string | null; reason: string | null; variants: string[]; provider: string; model: string; callId: string }> {
    const original: EmailDraft = { subject: input.subject, preheader: '', html: '<p></p>' };
    const governed = await this.governed<string[]>(
      input.workspaceId,
      input.actor,
      'subject_variants',
      input.mode,
      input.links ?? {},
      (r) => Buffer.byteLength(JSON.stringify(subjectsPrompt(r.redact(input.subject), input.count, 0))),
      async (provider, redactor, maxTokens) => {
        const sent = redactor.redact(input.subject);
        const result = await provider.subjectVariants(sent, input.count, maxTokens);
        const kept: string[] = [];
        for (const candidate of result.value) {
          if (redactor.unknownStandIns(candidate).length > 0) continue;
          const checked = await checkGenerated({ ...original, subject: sent }, { ...original, subject: candidate });
          if (checked.ok) kept.push(redactor.restore(checked.draft.subject));
        }
        if (kept.length === 0) return { refused: 'no generated subject line passed the checks', usage: result.usage };
        return { value: kept, usage: result.usage };
      },
      [],
      await getPolicy(this.deps.db, input.workspaceId),
    );
    return { outcome: governed.outcome, reasonCode: governed.reasonCode, reason: governed.reason, variants: governed.value ?? [], provider: governed.provider.kind, model: governed.provider.model, callId: governed.callId };
  }
}

function emptyFacts(): ContactFacts {
  return { firstName: null, lastName: null, email: null, phone: null, company: null, jobTitle: null, status: null, scoreBand: null, daysSinceActivity: null, custom: {} };
}
