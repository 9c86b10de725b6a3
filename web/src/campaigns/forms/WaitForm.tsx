/**
 * The wait form: a duration down to seconds; until a local time in the contact's own time zone
 * (weekdays, quiet hours, a zone for contacts without one); or until an event, with a timeout and
 * an optional correlation key.
 */
import type { WaitNodeConfig } from '@server/campaigns/definition.schemas.js';
import { Choice, num, optional, str, Text, withField, type Draft } from './fields';

type Config = Draft<WaitNodeConfig>;
type Kind = WaitNodeConfig['kind'];

const WAIT_KINDS: ReadonlyArray<readonly [Kind, string]> = [
  ['duration', 'A duration'],
  ['until_time', 'Until a local time'],
  ['event', 'Until an event (with timeout)'],
];
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const UNITS = [
  ['1', 'seconds'],
  ['60', 'minutes'],
  ['3600', 'hours'],
  ['86400', 'days'],
] as const;
type Unit = (typeof UNITS)[number][0];

function startOf(kind: Kind): Config {
  if (kind === 'until_time') return { kind, hour: 9, minute: 0 };
  if (kind === 'event') return { kind, name: '', timeoutSeconds: 3 * 86_400 };
  return { kind, seconds: 86_400 };
}

/** The largest unit that divides the seconds evenly (seconds when there is nothing to divide). */
export function unitOf(seconds: number | undefined): Unit {
  if (seconds === undefined || seconds <= 0) return '60';
  return ([...UNITS].reverse().find(([size]) => seconds % Number(size) === 0)?.[0] ?? '1') as Unit;
}

function Amount({ id, label, seconds, onChange, field }: { id: string; label: string; seconds: number | undefined; onChange: (seconds: number | undefined) => void; field: string }) {
  const unit = unitOf(seconds);
  return (
    <div className="row">
      <Text label={label} id={`${id}-amount`} field={field} type="number" min={0} value={seconds === undefined ? '' : String(seconds / Number(unit))} onChange={(text) => onChange(num(text) === undefined ? undefined : Math.round(num(text)! * Number(unit)))} />
      <Choice label="Unit" id={`${id}-unit`} value={unit} options={UNITS} onChange={(next) => onChange(seconds === undefined ? undefined : (seconds / Number(unit)) * Number(next))} />
    </div>
  );
}

export function WaitForm({ config, onChange }: { config: Config; onChange: (config: Config) => void }) {
  const kindChoice = <Choice label="Wait for" id="wait-kind" field="config.kind" value={config.kind} options={WAIT_KINDS} onChange={(kind) => onChange(startOf(kind))} />;
  if (config.kind === 'until_time') {
    const weekdays = config.weekdays ?? [];
    const quiet = config.quietHours;
    const setQuiet = (part: 'start' | 'end', value: number | undefined) => {
      const next = { start: quiet?.start, end: quiet?.end, [part]: value };
      onChange(withField(config, 'quietHours', next.start === undefined && next.end === undefined ? undefined : (next as { start: number; end: number })));
    };
    return (
      <div className="stack">
        {kindChoice}
        <p className="muted small">Each contact waits until this time on their own clock (the contact’s time zone), on an allowed weekday and outside quiet hours.</p>
        <fieldset>
          <legend>Weekdays (none: any day)</legend>
          <div className="row">
            {WEEKDAYS.map((day, index) => (
              <label key={day} className="inline-check">
                <input
                  type="checkbox"
                  checked={weekdays.includes(index)}
                  onChange={(event) => {
                    const next = event.target.checked ? [...weekdays, index].sort() : weekdays.filter((d) => d !== index);
                    onChange(withField(config, 'weekdays', next.length === 0 ? undefined : next));
                  }}
                />{' '}
                {day}
              </label>
            ))}
          </div>
        </fieldset>
        <div className="row">
          <Text label="Hour (0–23)" id="wait-hour" field="config.hour" type="number" min={0} max={23} value={str(config.hour)} onChange={(text) => onChange(withField(config, 'hour', num(text)))} />
          <Text label="Minute" id="wait-minute" field="config.minute" type="number" min={0} max={59} value={str(config.minute)} onChange={(text) => onChange(withField(config, 'minute', num(text)))} />
        </div>
        <fieldset>
          <legend>Quiet hours (never send between)</legend>
          <div className="row">
            <Text label="From hour" id="wait-quiet-start" field="config.quietHours.start" type="number" min={0} max={23} value={str(quiet?.start)} onChange={(text) => setQuiet('start', num(text))} />
            <Text label="Until hour" id="wait-quiet-end" field="config.quietHours.end" type="number" min={0} max={23} value={str(quiet?.end)} onChange={(text) => setQuiet('end', num(text))} />
          </div>
        </fieldset>
        <Text label="Time zone for contacts without one" id="wait-zone" field="config.defaultTimezone" value={str(config.defaultTimezone)} onChange={(text) => onChange(withField(config, 'defaultTimezone', optional(text)))} example="Europe/Berlin" hint="An IANA name; UTC when empty." />
      </div>
    );
  }
  if (config.kind === 'event') {
    return (
      <div className="stack">
        {kindChoice}
        <Text label="Event name" id="wait-event" field="config.name" value={str(config.name)} onChange={(name) => onChange({ ...config, name })} example="order_completed" />
        <Amount id="wait-timeout" field="config.timeoutSeconds" label="Give up after" seconds={config.timeoutSeconds} onChange={(seconds) => onChange(withField(config, 'timeoutSeconds', seconds))} />
        <Text label="Correlation key (optional)" id="wait-correlation" field="config.correlationKey" value={str(config.correlationKey)} onChange={(text) => onChange(withField(config, 'correlationKey', optional(text)))} example="cart_id" hint="Only an event whose property has the same value as in the event that started the journey." />
        <p className="muted small">Leaves by “next” when the event arrives, by “timeout” otherwise.</p>
      </div>
    );
  }
  return (
    <div className="stack">
      {kindChoice}
      <Amount id="wait" field="config.seconds" label="Wait" seconds={config.seconds} onChange={(seconds) => onChange(withField(config, 'seconds', seconds))} />
    </div>
  );
}
