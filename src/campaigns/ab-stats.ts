/**
 * The statistics of A/B splits, pure (no I/O): the Wilson score interval of a rate, the pooled
 * two-proportion z-test, and the automatic winner's decision at one look of a group-sequential
 * test whose false-winner rate stays at or below α (docs/ab-testing.md explains the design).
 *
 * Why a two-proportion z-test and not a Bayesian probability to beat: its error rate under "no
 * difference" is a guarantee we can state and test (≤ α), the p-value is what marketers expect
 * to see next to a winner, and it needs no prior. Why Wilson and not the normal (Wald) interval:
 * Wald collapses to [0, 0] at zero successes and undercovers at the low rates email has (2–10 %).
 */

/** Two-sided 95 % normal quantile. */
export const Z_95 = 1.959963984540054;

/** The automatic test looks at most this many times: at 1×, 2×, 3× and 4× the minimum sample per variant. */
export const MAX_LOOKS = 4;

export interface RateInterval {
  /** successes / trials; 0 when there are no trials. */
  rate: number;
  low: number;
  high: number;
}

/** The Wilson score interval of successes out of trials (95 % by default); [0, 1] with no trials. */
export function wilson(successes: number, trials: number, z = Z_95): RateInterval {
  if (trials <= 0) return { rate: 0, low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  // At 0 or all successes the bound is exactly 0 or 1 (rounding would leave 1e-17).
  return { rate: p, low: successes <= 0 ? 0 : Math.max(0, centre - half), high: successes >= trials ? 1 : Math.min(1, centre + half) };
}

/** The complementary error function: Numerical Recipes' erfcc, a Chebyshev fit with fractional error below 1.2e-7. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(Z ≤ z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

export interface ProportionTest {
  z: number;
  /** Two-sided p-value; 1 when the pooled rate is 0 or 1 (no information). */
  pValue: number;
}

/** The pooled two-proportion z-test of x1/n1 against x2/n2 (z > 0 when the first rate is higher). */
export function twoProportionTest(x1: number, n1: number, x2: number, n2: number): ProportionTest {
  if (n1 <= 0 || n2 <= 0) return { z: 0, pValue: 1 };
  const pooled = (x1 + x2) / (n1 + n2);
  const variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2);
  if (variance <= 0) return { z: 0, pValue: 1 };
  const z = (x1 / n1 - x2 / n2) / Math.sqrt(variance);
  return { z, pValue: Math.min(1, 2 * (1 - normalCdf(Math.abs(z)))) };
}

export interface VariantCount {
  id: string;
  /** Contacts assigned (the trials). */
  trials: number;
  /** Contacts with the chosen outcome (opened, clicked or converted). */
  successes: number;
}

export interface LookInput {
  variants: VariantCount[];
  /** The configured significance level: the false-winner rate the whole test may spend. */
  alpha: number;
  minSamplePerVariant: number;
  /** Looks already taken (0 … MAX_LOOKS). */
  looksDone: number;
}

export type LookResult =
  | { kind: 'wait' }
  | {
      kind: 'look';
      /** The look this is (1 … MAX_LOOKS): the smallest variant holds at least look × minimum sample. */
      look: number;
      /** α spent at this look: α × (look − looksDone) / MAX_LOOKS; a skipped look's share is spent with it. */
      alphaSpent: number;
      /** The variant with the highest rate (null on a tie for first). */
      leader: string | null;
      /** The largest p-value of the leader against each other variant. */
      pValue: number;
      /** The leader, when every comparison is significant at alphaSpent / (variants − 1). */
      winner: string | null;
      /** True when this was the last look allowed (no winner now means none ever). */
      final: boolean;
    };

/**
 * One look of the sequential test. Looks happen when the smallest variant reaches 1×, 2×, 3×, 4×
 * the minimum sample; look k may spend α·k/MAX_LOOKS in total (a Bonferroni alpha-spending
 * function), so over all looks the chance of naming a winner when all variants are equal is at
 * most α by the union bound, whatever the correlation between looks. Within a look the leader
 * must beat each of the other m − 1 variants at alphaSpent / (m − 1); under "all equal" the events
 * "variant w wins" are disjoint and each implies a one-sided rejection at half that level, so the
 * look's false-winner chance is at most m/(2(m−1))·alphaSpent ≤ alphaSpent.
 */
export function evaluateLook(input: LookInput): LookResult {
  const { variants, alpha, minSamplePerVariant, looksDone } = input;
  if (variants.length < 2 || looksDone >= MAX_LOOKS || minSamplePerVariant <= 0) return { kind: 'wait' };
  const smallest = Math.min(...variants.map((v) => v.trials));
  const look = Math.min(MAX_LOOKS, Math.floor(smallest / minSamplePerVariant));
  if (look <= looksDone) return { kind: 'wait' };
  const alphaSpent = (alpha * (look - looksDone)) / MAX_LOOKS;
  const rates = variants.map((v) => ({ id: v.id, rate: v.trials > 0 ? v.successes / v.trials : 0, v }));
  const sorted = [...rates].sort((a, b) => b.rate - a.rate);
  const top = sorted[0]!;
  const tie = sorted[1]!.rate === top.rate;
  let pValue = 0;
  let allSignificant = !tie;
  for (const other of rates) {
    if (other.id === top.id) continue;
    const test = twoProportionTest(top.v.successes, top.v.trials, other.v.successes, other.v.trials);
    pValue = Math.max(pValue, test.pValue);
    if (!(test.z > 0 && test.pValue < alphaSpent / (variants.length - 1))) allSignificant = false;
  }
  return { kind: 'look', look, alphaSpent, leader: tie ? null : top.id, pValue: tie ? 1 : pValue, winner: allSignificant ? top.id : null, final: look >= MAX_LOOKS };
}

/** A rate as the timeline writes it: "8.1 %". */
export function formatRate(rate: number): string {
  return `${(rate * 100).toFixed(1)} %`;
}

/** A p-value as the timeline writes it: "p = 0.003", "p < 0.001". */
export function formatPValue(p: number): string {
  return p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`;
}
