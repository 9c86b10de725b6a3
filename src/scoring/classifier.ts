/**
 * Reads the sentiment and buying intent of an email reply. The default is offline rules; the
 * composition root (src/init.ts) wires the AI classifier (src/ai/classify.ts), which asks the
 * workspace's model when one is configured and falls back to these rules otherwise.
 */
import type { Queryable } from '../db/database.js';

export interface ReplyClassification {
  /** −1 (negative) … 1 (positive). */
  sentiment: number;
  /** 0 (none) … 1 (ready to buy). */
  intent: number;
  /** Short reason shown in the score explanation. */
  reason: string;
}

/** Where a reply was scored: the scoring transaction, its workspace and contact. */
export interface ClassifyContext {
  q: Queryable;
  workspaceId: string;
  contactId: string | null;
}

export interface ReplyClassifier {
  classify(text: string, context?: ClassifyContext): Promise<ReplyClassification>;
}

const POSITIVE = [/\bthanks?\b/, /\bthank you\b/, /\binterested\b/, /\bgreat\b/, /\blove\b/, /\bsounds good\b/, /\bperfect\b/, /\bexcited\b/, /\bhelpful\b/, /\byes\b/, /\blet'?s\b/, /\bawesome\b/];
const NEGATIVE = [/\bnot interested\b/, /\bunsubscribe\b/, /\bstop\b/, /\bremove me\b/, /\bspam\b/, /\bno thanks\b/, /\bannoy/, /\bterrible\b/, /\bdisappointed\b/, /\bnever\b/, /\bdon'?t (?:email|contact)\b/];
const INTENT: Array<[RegExp, number, string]> = [
  [/\b(?:buy|purchase|sign the contract|send (?:the|a) contract|ready to (?:start|go|buy))\b/, 1, 'ready to buy'],
  [/\b(?:quote|pricing|price|cost|proposal|invoice)\b/, 0.8, 'asked about pricing'],
  [/\b(?:demo|call|meeting|schedule|book|calendar|trial)\b/, 0.6, 'asked for a demo or a call'],
  [/\b(?:more (?:info|information|details)|tell me more|how does)\b/, 0.4, 'asked for more information'],
];

/** Keyword rules; good enough to rank replies and fully explainable. */
export class RulesReplyClassifier implements ReplyClassifier {
  async classify(text: string): Promise<ReplyClassification> {
    const lower = text.toLowerCase();
    const negative = NEGATIVE.filter((p) => p.test(lower)).length;
    // "not interested" also matches "interested": count negatives first and discount that.
    const positive = Math.max(0, POSITIVE.filter((p) => p.test(lower)).length - (/\bnot interested\b/.test(lower) ? 1 : 0));
    const sentiment = positive + negative === 0 ? 0 : (positive - negative) / (positive + negative);
    let intent = 0;
    let reason = 'no buying signal';
    if (negative === 0) {
      for (const [pattern, value, why] of INTENT) {
        if (pattern.test(lower) && value > intent) {
          intent = value;
          reason = why;
        }
      }
    }
    return { sentiment, intent, reason };
  }
}
