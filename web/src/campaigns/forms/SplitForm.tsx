/**
 * The A/B split form: its variants and weights (adding up to 100), and every setting of the
 * automatic winner the engine reads (SplitConfig.autoWinner in definition.schemas.ts: the metric,
 * the minimum contacts per variant, the minimum hours, the significance level). The limits come
 * from the schema itself; each out-of-range value gets a sentence beside its input.
 */
import { AutoWinnerConfig, type AutoWinnerValue, type SplitNodeConfig } from '@server/campaigns/definition.schemas.js';
import { Choice, num, str, Text, withField, type Draft } from './fields';

type Variant = Draft<SplitNodeConfig['variants'][number]>;
type AutoWinnerDraft = Draft<AutoWinnerValue>;
type Metric = AutoWinnerValue['metric'];
export type SplitDraft = { variants?: Variant[]; autoWinner?: AutoWinnerDraft };

const SAMPLE = AutoWinnerConfig.properties.minSamplePerVariant;
const HOURS = AutoWinnerConfig.properties.minHours;
const ALPHA = AutoWinnerConfig.properties.alpha;
/** The engine's significance level when none is set (split-tests.ts DEFAULT_ALPHA). */
const DEFAULT_ALPHA_PERCENT = 5;

const METRICS: ReadonlyArray<readonly [Metric, string]> = [
  ['click', 'Click rate (human clicks per contact)'],
  ['open', 'Open rate (human opens per contact)'],
  ['conversion', 'Conversion rate (contacts reaching the goal)'],
];

/** What the automatic winner starts with when it is switched on. */
export const AUTO_WINNER_START: AutoWinnerValue = { metric: 'click', minSamplePerVariant: 1000, minHours: 24 };

const count = (n: number) => n.toLocaleString('en-US');
const percent = (alpha: number) => Number((alpha * 100).toPrecision(6));

/** The sentence for a wrong minimum sample, or null when the engine accepts it. */
export function sampleProblem(value: number | undefined): string | null {
  const min = SAMPLE.minimum ?? 1;
  const max = SAMPLE.maximum ?? Number.MAX_SAFE_INTEGER;
  if (value === undefined) return 'Enter how many contacts each variant needs before the first look.';
  if (!Number.isInteger(value)) return 'Use a whole number of contacts.';
  if (value < min) return `Each variant needs at least ${count(min)} contacts, or a winner would be chance.`;
  if (value > max) return `At most ${count(max)} contacts per variant.`;
  return null;
}

/** The sentence for wrong minimum hours, or null. */
export function hoursProblem(value: number | undefined): string | null {
  const min = HOURS.minimum ?? 0;
  const max = HOURS.maximum ?? Number.MAX_SAFE_INTEGER;
  if (value === undefined) return 'Enter how many hours to wait before the first look (0 looks as soon as the sample is there).';
  if (!Number.isInteger(value)) return 'Use whole hours.';
  if (value < min) return 'The hours cannot be negative.';
  if (value > max) return `At most ${count(max)} hours (a year).`;
  return null;
}

/** The sentence for a wrong significance level (stored as a fraction, shown in percent), or null. */
export function alphaProblem(alpha: number | undefined): string | null {
  if (alpha === undefined) return null;
  const min = ALPHA.minimum ?? 0;
  const max = ALPHA.maximum ?? 1;
  if (alpha < min || alpha > max) return `Choose between ${percent(min)} % and ${percent(max)} % (leave empty for ${DEFAULT_ALPHA_PERCENT} %).`;
  return null;
}

function AutoWinnerFields({ config, onChange }: { config: AutoWinnerDraft; onChange: (config: AutoWinnerDraft) => void }) {
  return (
    <fieldset>
      <legend>Automatic winner</legend>
      <Choice
        label="Winning metric"
        id="split-metric"
        value={config.metric ?? ''}
        options={METRICS}
        onChange={(metric) => onChange({ ...config, metric })}
        hint={config.metric === 'conversion' ? 'Conversion needs a campaign goal (Settings of the campaign).' : 'Machine opens (privacy proxies) never count.'}
      />
      <Text
        label="Minimum contacts per variant"
        id="split-min-sample"
        type="number"
        min={SAMPLE.minimum}
        max={SAMPLE.maximum}
        value={str(config.minSamplePerVariant)}
        onChange={(text) => onChange(withField(config, 'minSamplePerVariant', num(text)))}
        error={sampleProblem(config.minSamplePerVariant)}
        hint="The test looks at 1×, 2×, 3× and 4× this many contacts in every variant."
      />
      <Text
        label="Minimum hours before the first look"
        id="split-min-hours"
        type="number"
        min={HOURS.minimum}
        max={HOURS.maximum}
        value={str(config.minHours)}
        onChange={(text) => onChange(withField(config, 'minHours', num(text)))}
        error={hoursProblem(config.minHours)}
        hint="Counted from the first contact reaching the split; 24 or more evens out the time of day."
      />
      <Text
        label="Significance level (%)"
        id="split-alpha"
        type="number"
        step={0.1}
        min={percent(ALPHA.minimum ?? 0)}
        max={percent(ALPHA.maximum ?? 1)}
        example={String(DEFAULT_ALPHA_PERCENT)}
        value={config.alpha === undefined ? '' : String(percent(config.alpha))}
        onChange={(text) => {
          const value = num(text);
          onChange(withField(config, 'alpha', value === undefined ? undefined : value / 100));
        }}
        error={alphaProblem(config.alpha)}
        hint={`The chance of naming a winner when the variants are in fact equal. Empty: ${DEFAULT_ALPHA_PERCENT} %.`}
      />
    </fieldset>
  );
}

export function SplitForm({ config, onChange, onRenameHandle }: { config: SplitDraft; onChange: (config: SplitDraft) => void; onRenameHandle: (from: string, to: string) => void }) {
  const variants = config.variants ?? [];
  const setVariant = (index: number, variant: Variant) => onChange({ ...config, variants: variants.map((v, i) => (i === index ? variant : v)) });
  const total = variants.reduce((sum, v) => sum + (v.weight ?? 0), 0);
  return (
    <div className="stack">
      <p className={`small ${total === 100 ? 'muted' : 'field-error'}`}>Weights add up to {total} (must be 100). A contact always lands in the same variant.</p>
      {variants.map((variant, index) => (
        <div className="row" key={index}>
          <Text
            label={`Variant ${index + 1} id`}
            id={`variant-${index}-id`}
            field={`config.variants.${index}.id`}
            value={str(variant.id)}
            onChange={(text) => {
              onRenameHandle(str(variant.id), text);
              setVariant(index, { ...variant, id: text });
            }}
          />
          <Text label="Weight (%)" id={`variant-${index}-weight`} field={`config.variants.${index}.weight`} type="number" min={0} max={100} value={str(variant.weight)} onChange={(text) => setVariant(index, withField(variant, 'weight', num(text)))} />
          <button type="button" className="button small ghost" onClick={() => onChange({ ...config, variants: variants.filter((_, i) => i !== index) })}>
            Remove
          </button>
        </div>
      ))}
      <button
        type="button"
        className="button small"
        onClick={() => {
          let n = variants.length;
          while (variants.some((v) => v.id === String.fromCharCode(97 + n))) n += 1;
          onChange({ ...config, variants: [...variants, { id: String.fromCharCode(97 + n), weight: 0 }] });
        }}
      >
        Add variant
      </button>
      <label className="inline-check">
        <input type="checkbox" checked={config.autoWinner !== undefined} onChange={(event) => onChange(withField(config, 'autoWinner', event.target.checked ? { ...AUTO_WINNER_START } : undefined))} /> Pick a winner automatically
      </label>
      {config.autoWinner ? (
        <AutoWinnerFields config={config.autoWinner} onChange={(autoWinner) => onChange({ ...config, autoWinner })} />
      ) : (
        <p className="muted small">Off: contacts are split by weight until you pick a winner by hand on the campaign’s results.</p>
      )}
      {config.autoWinner && variants.some((v) => v.weight === 0) ? <p className="muted small">Variants of weight 0 get no contacts and take no part in the test.</p> : null}
    </div>
  );
}
