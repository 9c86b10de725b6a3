/**
 * The trigger form: every way contacts enter — by hand, new contact, tag, score, event (with
 * property filters), email event, segment entry, a broadcast to a segment at a date and time in the
 * workspace's time zone, or the inbound webhook.
 */
import type { TriggerNodeConfig } from '@server/campaigns/definition.schemas.js';
import { Link } from '../../router';
import { useSegments, useTopics, useWorkspaceTimeZone } from '../ops/ops-api';
import { Choice, num, optional, str, Text, withField, type Draft } from './fields';
import { formatInZone, isoToZoned, zonedToIso } from './zoned';

type Config = Draft<TriggerNodeConfig>;
type Kind = TriggerNodeConfig['kind'];

export const TRIGGER_KINDS: ReadonlyArray<readonly [Kind, string]> = [
  ['manual', 'Manual enrollment'],
  ['contact_created', 'New contact'],
  ['tag_added', 'Tag added'],
  ['score_threshold', 'Score threshold crossed'],
  ['event', 'Event received'],
  ['email_event', 'Email event'],
  ['segment_entered', 'Segment entered'],
  ['broadcast', 'Broadcast to a segment'],
  ['inbound_webhook', 'Inbound webhook'],
];

function startOf(kind: Kind): Config {
  switch (kind) {
    case 'tag_added':
      return { kind, tag: '' };
    case 'score_threshold':
      return { kind, threshold: 80 };
    case 'event':
      return { kind, name: '' };
    case 'email_event':
      return { kind, event: 'opened' };
    case 'segment_entered':
    case 'broadcast':
      return { kind, segmentId: '' };
    default:
      return { kind };
  }
}

function SegmentChoice({ value, onChange, id, field }: { value: string; onChange: (id: string) => void; id: string; field: string }) {
  const segments = useSegments();
  const list = segments.data ?? [];
  return (
    <>
      <Choice
        label="Segment"
        id={id}
        field={field}
        value={value}
        options={[['', segments.isPending ? 'Loading segments…' : 'Choose a segment'], ...list.map((s) => [s.id, s.name] as const)]}
        onChange={onChange}
      />
      {segments.isSuccess && list.length === 0 ? (
        <p className="muted small">
          No segments yet. <Link to="/segments">Create a segment</Link> first.
        </p>
      ) : null}
    </>
  );
}

function BroadcastTime({ at, onChange }: { at: string | undefined; onChange: (at: string | undefined) => void }) {
  const zone = useWorkspaceTimeZone().data ?? 'UTC';
  return (
    <Text
      label={`Send at (${zone})`}
      id="trigger-broadcast-at"
      field="config.at"
      type="datetime-local"
      value={at ? isoToZoned(at, zone) : ''}
      onChange={(text) => onChange(text === '' ? undefined : (zonedToIso(text, zone) ?? undefined))}
      hint={at ? `Scheduled for ${formatInZone(at, zone)}. Leave empty to send when published.` : 'Empty: sends to every current member when you publish.'}
    />
  );
}

export function TriggerForm({ config, onChange }: { config: Config; onChange: (config: Config) => void }) {
  const topics = useTopics();
  return (
    <div className="stack">
      <Choice label="Contacts enter on" id="trigger-kind" field="config.kind" value={config.kind} options={TRIGGER_KINDS} onChange={(kind) => onChange(startOf(kind))} />
      {config.kind === 'manual' ? <p className="muted small">Enroll contacts, a segment or a filtered list from “Enroll” once published.</p> : null}
      {config.kind === 'tag_added' ? <Text label="Tag" id="trigger-tag" field="config.tag" value={str(config.tag)} onChange={(tag) => onChange({ ...config, tag })} /> : null}
      {config.kind === 'score_threshold' ? (
        <Text label="Score threshold (1–100)" id="trigger-threshold" field="config.threshold" type="number" min={1} max={100} value={str(config.threshold)} onChange={(text) => onChange(withField(config, 'threshold', num(text)))} />
      ) : null}
      {config.kind === 'event' ? (
        <>
          <Text label="Event name" id="trigger-event" field="config.name" value={str(config.name)} onChange={(name) => onChange({ ...config, name })} example="signed_up" />
          {(config.filters ?? []).map((filter, index) => (
            <div className="row" key={index}>
              <Text label="Property" id={`trigger-filter-${index}-property`} value={filter.property} onChange={(property) => onChange({ ...config, filters: (config.filters ?? []).map((f, i) => (i === index ? { ...f, property } : f)) })} />
              <Text label="Equals" id={`trigger-filter-${index}-value`} value={str(filter.value)} onChange={(value) => onChange({ ...config, filters: (config.filters ?? []).map((f, i) => (i === index ? { ...f, value } : f)) })} />
              <button type="button" className="button small ghost" onClick={() => onChange(withField(config, 'filters', (config.filters ?? []).filter((_, i) => i !== index)))}>
                Remove
              </button>
            </div>
          ))}
          <button type="button" className="button small" onClick={() => onChange({ ...config, filters: [...(config.filters ?? []), { property: '', op: 'eq', value: '' }] })}>
            Add property filter
          </button>
        </>
      ) : null}
      {config.kind === 'email_event' ? (
        <>
          <Choice
            label="Email event"
            id="trigger-email-event" field="config.event"
            value={config.event ?? 'opened'}
            options={(['opened', 'clicked', 'replied', 'bounced', 'unsubscribed'] as const).map((e) => [e, e] as const)}
            onChange={(event) => onChange(event === 'unsubscribed' ? { ...config, event } : withField({ ...config, event }, 'topicId', undefined))}
          />
          {config.event === 'unsubscribed' ? (
            <Choice label="Topic" id="trigger-email-topic" field="config.topicId" value={config.topicId ?? ''} options={[['', 'Any topic'], ...(topics.data ?? []).map((t) => [t.id, t.name] as const)]} onChange={(value) => onChange(withField(config, 'topicId', optional(value)))} />
          ) : null}
        </>
      ) : null}
      {config.kind === 'segment_entered' ? <SegmentChoice id="trigger-segment" field="config.segmentId" value={config.segmentId ?? ''} onChange={(segmentId) => onChange({ ...config, segmentId })} /> : null}
      {config.kind === 'broadcast' ? (
        <>
          <SegmentChoice id="trigger-segment" field="config.segmentId" value={config.segmentId ?? ''} onChange={(segmentId) => onChange({ ...config, segmentId })} />
          <BroadcastTime at={config.at} onChange={(at) => onChange(withField(config, 'at', at))} />
          <p className="muted small">Every member of the segment at send time enters once. Scheduled broadcasts are listed under “Broadcasts” and can be cancelled before they run.</p>
        </>
      ) : null}
      {config.kind === 'inbound_webhook' ? <p className="muted small">Another system enrolls contacts with POST /hooks/campaigns/&lt;id&gt; and the campaign secret (docs/campaigns.md).</p> : null}
    </div>
  );
}
