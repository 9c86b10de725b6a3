/**
 * Reply/sentiment classification for the lead score by the workspace's model, behind the
 * interface the rules-based classifier implements (src/scoring/classifier.ts). With no provider
 * configured (the offline default) the rules classify and nothing is logged: no call is made. With
 * one, the model classifies through a governed call (policy, redaction of the reply, budget
 * reservation, an ai_calls row with operation 'classify'), and any failure — refusal, timeout,
 * provider error, an answer out of range — falls back to the rules.
 *
 * It runs inside the event processor's scoring transaction (`context.q`): every statement of the
 * call goes through it, so on the embedded database, which has one connection, nothing waits for
 * itself; the provider's latency is spent inside that transaction.
 */
import { SYSTEM_ACTOR } from '../identity/audit.js';
import type { Logger } from '../platform/logger.js';
import { RulesReplyClassifier, type ClassifyContext, type ReplyClassification, type ReplyClassifier } from '../scoring/classifier.js';
import { classifyPrompt } from './chat.js';
import { loadAiContext } from './context.js';
import type { AiService } from './personalize.js';
import type { ReplyVerdict } from './provider.js';

/** The most output tokens a verdict needs; the policy's maxTokens still caps it. */
const CLASSIFY_MAX_TOKENS = 200;

export class ModelReplyClassifier implements ReplyClassifier {
  private readonly rules = new RulesReplyClassifier();

  constructor(private readonly deps: { service: AiService; logger: Logger }) {}

  async classify(text: string, context?: ClassifyContext): Promise<ReplyClassification> {
    if (!context) return this.rules.classify(text);
    try {
      const ai = await loadAiContext(context.q, context.workspaceId);
      if (!ai.settings || ai.settings.provider === 'offline') return await this.rules.classify(text);
      const provider = this.deps.service.providerIn(context.workspaceId, ai, 'provider');
      const maxTokens = Math.min(ai.policy.maxTokens, CLASSIFY_MAX_TOKENS);
      const [governed] = await this.deps.service.governedMany<ReplyVerdict>(context.q, context.workspaceId, SYSTEM_ACTOR, 'classify', ai, provider, [
        {
          links: { contactId: context.contactId },
          personalValues: [],
          worstCaseIn: (r) => Buffer.byteLength(JSON.stringify(classifyPrompt(r.redact(text), 0))),
          call: async (p, redactor) => {
            const result = await p.classifyReply(redactor.redact(text), maxTokens);
            // The reason is shown in the score explanation: stand-ins are dropped, not restored.
            return { value: { ...result.value, reason: result.value.reason.replace(/\[\[PII_\d+\]\]/g, '…') }, usage: result.usage };
          },
        },
      ]);
      if (governed?.outcome === 'ok' && governed.value) return { sentiment: governed.value.sentiment, intent: governed.value.intent, reason: governed.value.reason };
    } catch (error) {
      this.deps.logger.warn({ err: error, workspaceId: context.workspaceId }, 'reply classification by the model failed; the rules classify it');
    }
    return this.rules.classify(text);
  }
}
