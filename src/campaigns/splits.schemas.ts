/**
 * Shapes of the A/B split routes (GET /api/campaigns/:id/splits, POST/DELETE
 * /api/campaigns/:id/splits/:nodeId/winner). A leaf module: TypeBox and other schema modules only,
 * imported by the web app as @server/campaigns/splits.schemas.
 */
import { Type, type Static } from '@sinclair/typebox';
import { AutoWinnerConfig } from './definition.schemas.js';

export const SplitParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  nodeId: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' }),
});

export const PickWinnerBody = Type.Object({ variant: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

const Rate = Type.Object(
  {
    rate: Type.Number({ description: 'Per contact assigned, 0–1' }),
    low: Type.Number({ description: 'Wilson 95 % interval, lower bound' }),
    high: Type.Number({ description: 'Wilson 95 % interval, upper bound' }),
  },
  { additionalProperties: false },
);

export const SplitMetricSchema = Type.Union([Type.Literal('open'), Type.Literal('click'), Type.Literal('conversion')]);

export const VariantResult = Type.Object(
  {
    id: Type.String(),
    weight: Type.Integer({ description: 'Weight in the current version (0 when the variant is no longer in it)' }),
    assigned: Type.Integer({ description: 'Contacts (enrollments) the split sent down this variant' }),
    sends: Type.Integer({ description: 'Emails sent to them after the split' }),
    opened: Type.Integer({ description: 'Contacts with a human open of one of those emails (machine opens excluded)' }),
    clicked: Type.Integer({ description: 'Contacts with a human click in one of those emails' }),
    converted: Type.Integer({ description: 'Contacts who reached the campaign goal' }),
    rates: Type.Object({ open: Rate, click: Rate, conversion: Rate }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

export const SplitDecision = Type.Object(
  {
    metric: Type.Union([SplitMetricSchema, Type.Null()]),
    /** Why, in a sentence: "Variant B won on click rate: 8.1 % vs 4.0 %, p = 0.003, after 2,400 contacts". */
    summary: Type.String(),
    pValue: Type.Union([Type.Number(), Type.Null()]),
    sample: Type.Integer({ description: 'Contacts assigned across variants at the decision' }),
  },
  { additionalProperties: false },
);

export const SplitTestStatus = Type.Union([Type.Literal('off'), Type.Literal('running'), Type.Literal('decided'), Type.Literal('inconclusive'), Type.Literal('cleared')], {
  description: 'off: no automatic test and no winner; running: still looking; decided: a winner; inconclusive: no winner after the last look; cleared: a winner was cleared by hand',
});

export const SplitResult = Type.Object(
  {
    nodeId: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    variants: Type.Array(VariantResult),
    /** The current version's automatic-winner settings, null when it has none. */
    autoWinner: Type.Union([AutoWinnerConfig, Type.Null()]),
    status: SplitTestStatus,
    looks: Type.Integer({ description: 'Looks the automatic test has taken (of maxLooks)' }),
    maxLooks: Type.Integer(),
    winner: Type.Union([
      Type.Object(
        { variant: Type.String(), decidedBy: Type.Union([Type.Literal('auto'), Type.Literal('manual')]), decidedAt: Type.String({ format: 'date-time' }), decision: SplitDecision },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    /** The last look of the automatic test (or the decision), null before the first. */
    lastLook: Type.Union([SplitDecision, Type.Null()]),
    startedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { additionalProperties: false },
);

export const SplitResultsAnswer = Type.Object(
  { hasGoal: Type.Boolean({ description: 'The current version has a goal (conversions count)' }), splits: Type.Array(SplitResult) },
  { additionalProperties: false },
);

export type SplitResultValue = Static<typeof SplitResult>;
export type VariantResultValue = Static<typeof VariantResult>;
export type SplitDecisionValue = Static<typeof SplitDecision>;
export type SplitResultsAnswerValue = Static<typeof SplitResultsAnswer>;
