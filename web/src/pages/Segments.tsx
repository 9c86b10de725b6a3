/**
 * Segments: the list with member counts, and the editor of a dynamic segment's filters (fields,
 * custom fields, tags, score, events, email engagement; all or any) with its current members.
 */
import { useState, type FormEvent } from 'react';
import { api, errorMessage, fieldErrors, type CustomFieldDefinition, type Segment, type DraftDefinition, type SegmentCondition } from '../api';
import { inputTypeOf, useCustomFields } from '../contacts/customFields';
import { contactName } from '../format';
import { Link, navigate } from '../router';
import { useCan } from '../session';
import { Alert, Badge, Field, formatDate, LoadedList, PageHeader, Spinner, useLoad } from '../ui';

const CONDITION_KINDS: Array<[string, string]> = [
  ['field', 'Field'],
  ['custom_field', 'Custom field'],
  ['tag', 'Tag'],
  ['score', 'Score'],
  ['event', 'Event'],
  ['email', 'Email engagement'],
];
const FIELDS = ['email', 'firstName', 'lastName', 'company', 'jobTitle', 'phone', 'status', 'timezone', 'subscriptionState'];
const TEXT_OPS: Array<[string, string]> = [
  ['eq', 'is'],
  ['neq', 'is not'],
  ['contains', 'contains'],
  ['exists', 'is set'],
  ['not_exists', 'is empty'],
];
const SCORE_OPS: Array<[string, string]> = [
  ['gte', '≥'],
  ['gt', '>'],
  ['lte', '≤'],
  ['lt', '<'],
  ['eq', '='],
];
/** Order comparisons for custom fields declared as numbers or dates, worded for each. */
const RANGE_OPS: Record<string, string> = { gt: 'is above', gte: 'is at least', lt: 'is below', lte: 'is at most' };
const DATE_OPS: Record<string, string> = { gt: 'is after', gte: 'is on or after', lt: 'is before', lte: 'is on or before' };
const EMAIL_ACTIONS = ['delivered', 'opened', 'clicked', 'replied', 'bounced', 'complained', 'unsubscribed'];

export function defaultCondition(kind: string): SegmentCondition {
  switch (kind) {
    case 'custom_field':
      return { kind, key: '', op: 'eq', value: '' };
    case 'tag':
      return { kind, op: 'has', tag: '' };
    case 'score':
      return { kind, op: 'gte', value: 60 };
    case 'event':
      return { kind, name: '', minCount: 1 };
    case 'email':
      return { kind, action: 'opened', minCount: 1 };
    default:
      return { kind: 'field', field: 'company', op: 'eq', value: '' };
  }
}

const s = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '');
const n = (text: string): number | undefined => (text.trim() === '' || !Number.isFinite(Number(text)) ? undefined : Number(text));
function set(condition: SegmentCondition, key: string, value: unknown): SegmentCondition {
  const next = { ...condition };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

function Select({ label, value, options, onChange }: { label: string; value: string; options: Array<[string, string]>; onChange: (value: string) => void }) {
  return (
    <select aria-label={label} value={value} onChange={(event) => onChange(event.target.value)}>
      {options.map(([v, l]) => (
        <option key={v} value={v}>
          {l}
        </option>
      ))}
    </select>
  );
}
function Input({ label, value, onChange, type = 'text', list }: { label: string; value: string; onChange: (text: string) => void; type?: string; list?: string }) {
  return <input aria-label={label} placeholder={label} type={type} list={list} value={value} onChange={(event) => onChange(event.target.value)} />;
}

type TopicOption = { id: string; name: string };

function ConditionRow({
  condition,
  index,
  onChange,
  onRemove,
  topics,
  customFields,
}: {
  condition: SegmentCondition;
  index: number;
  onChange: (c: SegmentCondition) => void;
  onRemove: () => void;
  topics: TopicOption[];
  customFields: CustomFieldDefinition[];
}) {
  const label = (what: string) => `Condition ${index + 1} ${what}`;
  const op = s(condition.op);
  let fields;
  switch (condition.kind) {
    case 'field':
      fields = (
        <>
          <Select label={label('field')} value={s(condition.field)} options={FIELDS.map((f) => [f, f])} onChange={(v) => onChange(set(condition, 'field', v))} />
          <Select label={label('operator')} value={op} options={TEXT_OPS} onChange={(v) => onChange(set(condition, 'op', v))} />
          {op === 'exists' || op === 'not_exists' ? null : <Input label={label('value')} value={s(condition.value)} onChange={(v) => onChange(set(condition, 'value', v))} />}
        </>
      );
      break;
    case 'custom_field': {
      // A declared number or date field also compares by order; a yes/no field offers yes and no.
      const type = customFields.find((f) => f.key === condition.key)?.type;
      const ordered = type === 'number' || type === 'date';
      const ranged = op in RANGE_OPS;
      // Order comparisons of a number field carry a number; every other operator carries text (or a date).
      const setOp = (v: string) => onChange(set(set(condition, 'op', v), 'value', v in RANGE_OPS && type === 'number' ? n(s(condition.value)) : s(condition.value)));
      fields = (
        <>
          <Input label={label('key')} list="declared-custom-fields" value={s(condition.key)} onChange={(v) => onChange(set(condition, 'key', v))} />
          <Select label={label('operator')} value={op} options={ordered || ranged ? [...TEXT_OPS, ...Object.entries(type === 'date' ? DATE_OPS : RANGE_OPS)] : TEXT_OPS} onChange={setOp} />
          {op === 'exists' || op === 'not_exists' ? null : type === 'boolean' && !ranged ? (
            <Select label={label('value')} value={s(condition.value)} options={[['', '—'], ['true', 'yes'], ['false', 'no']]} onChange={(v) => onChange(set(condition, 'value', v))} />
          ) : (
            <Input
              label={label('value')}
              type={type ? inputTypeOf(type) : 'text'}
              value={s(condition.value)}
              onChange={(v) => onChange(set(condition, 'value', ranged && type === 'number' ? n(v) : v))}
            />
          )}
        </>
      );
      break;
    }
    case 'tag':
      fields = (
        <>
          <Select label={label('operator')} value={op} options={[['has', 'has tag'], ['not_has', 'does not have tag']]} onChange={(v) => onChange(set(condition, 'op', v))} />
          <Input label={label('tag')} value={s(condition.tag)} onChange={(v) => onChange(set(condition, 'tag', v))} />
        </>
      );
      break;
    case 'score':
      fields = (
        <>
          <Select label={label('operator')} value={op} options={SCORE_OPS} onChange={(v) => onChange(set(condition, 'op', v))} />
          <Input label={label('score')} type="number" value={s(condition.value)} onChange={(v) => onChange(set(condition, 'value', n(v)))} />
        </>
      );
      break;
    case 'event':
    case 'email':
      fields = (
        <>
          {condition.kind === 'event' ? (
            <Input label={label('event name')} value={s(condition.name)} onChange={(v) => onChange(set(condition, 'name', v))} />
          ) : (
            <Select label={label('action')} value={s(condition.action)} options={EMAIL_ACTIONS.map((a) => [a, a])} onChange={(v) => onChange(set(set(condition, 'action', v), 'topicId', v === 'unsubscribed' ? condition.topicId : undefined))} />
          )}
          {condition.kind === 'email' && condition.action === 'unsubscribed' && topics.length > 0 ? (
            <Select label={label('topic')} value={s(condition.topicId)} options={[['', 'any topic'], ...topics.map((t): [string, string] => [t.id, t.name])]} onChange={(v) => onChange(set(condition, 'topicId', v === '' ? undefined : v))} />
          ) : null}
          <Input label={label('at least (times)')} type="number" value={s(condition.minCount)} onChange={(v) => onChange(set(condition, 'minCount', n(v)))} />
          <Input label={label('within days')} type="number" value={s(condition.withinDays)} onChange={(v) => onChange(set(condition, 'withinDays', n(v)))} />
        </>
      );
      break;
    default:
      fields = <span className="muted">Unknown condition kept as it is.</span>;
  }
  return (
    <li className="condition row">
      <Select label={label('kind')} value={condition.kind} options={CONDITION_KINDS} onChange={(v) => onChange(defaultCondition(v))} />
      {fields}
      <button type="button" className="button small ghost" onClick={onRemove} aria-label={`Remove condition ${index + 1}`}>
        Remove
      </button>
    </li>
  );
}

function DefinitionEditor({ value, onChange }: { value: DraftDefinition; onChange: (d: DraftDefinition) => void }) {
  // Subscription topics, for "unsubscribed from a topic" conditions; none when they cannot be read.
  const [topics] = useLoad(() => api.topics.list().catch(() => ({ topics: [] })), []);
  const customFields = useCustomFields();
  return (
    <fieldset>
      <legend>Contacts who match</legend>
      <datalist id="declared-custom-fields">
        {customFields.map((field) => (
          <option key={field.key} value={field.key}>
            {field.label}
          </option>
        ))}
      </datalist>
      <div className="field">
        <label htmlFor="segment-match">Match</label>
        <select id="segment-match" value={value.match} onChange={(event) => onChange({ ...value, match: event.target.value as 'all' | 'any' })}>
          <option value="all">all conditions</option>
          <option value="any">any condition</option>
        </select>
      </div>
      <ul className="conditions">
        {value.conditions.map((condition, index) => (
          <ConditionRow
            key={index}
            index={index}
            condition={condition}
            onChange={(next) => onChange({ ...value, conditions: value.conditions.map((c, i) => (i === index ? next : c)) })}
            onRemove={() => onChange({ ...value, conditions: value.conditions.filter((_, i) => i !== index) })}
            topics={topics.status === 'ready' ? topics.data.topics : []}
            customFields={customFields}
          />
        ))}
      </ul>
      <button type="button" className="button small" onClick={() => onChange({ ...value, conditions: [...value.conditions, defaultCondition('tag')] })}>
        Add condition
      </button>
    </fieldset>
  );
}

function SegmentForm({ segment }: { segment: Segment | undefined }) {
  const can = useCan();
  const [name, setName] = useState(segment?.name ?? '');
  const [kind, setKind] = useState<Segment['kind']>(segment?.kind ?? 'dynamic');
  const [definition, setDefinition] = useState<DraftDefinition>(segment?.definition ?? { match: 'all', conditions: [defaultCondition('tag')] });
  const [error, setError] = useState<string>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [members, reloadMembers] = useLoad(() => (segment ? api.segments.members(segment.id) : Promise.resolve(undefined)), [segment?.id]);
  const [count, setCount] = useState(segment?.memberCount);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    try {
      const saved = segment
        ? await api.segments.update(segment.id, { name: name.trim(), ...(segment.kind === 'dynamic' ? { definition } : {}) })
        : await api.segments.create({ name: name.trim(), kind, ...(kind === 'dynamic' ? { definition } : {}) });
      setErrors({});
      if (!segment) {
        navigate(`/segments/${saved.id}`, { replace: true });
        return;
      }
      setCount(saved.memberCount);
      setNotice(`Saved: ${saved.memberCount} member${saved.memberCount === 1 ? '' : 's'}.`);
      await reloadMembers();
    } catch (caught) {
      setErrors(fieldErrors(caught));
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!segment || !window.confirm(`Delete the segment “${segment.name}”?`)) return;
    try {
      await api.segments.remove(segment.id);
      navigate('/segments');
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };

  const writable = can('segments:write');
  return (
    <>
      <p className="crumbs">
        <Link to="/segments">← Segments</Link>
      </p>
      <PageHeader title={segment ? segment.name : 'New segment'}>
        {segment ? <Badge tone="draft">{count ?? segment.memberCount} members</Badge> : null}
        {segment && writable ? (
          <button type="button" className="button danger" onClick={() => void remove()}>
            Delete
          </button>
        ) : null}
      </PageHeader>
      {error ? <Alert>{error}</Alert> : null}
      {notice ? <Alert kind="success">{notice}</Alert> : null}
      <form className="panel stack" onSubmit={save} aria-label="Segment" noValidate>
        <Field label="Name" name="name" value={name} onChange={(event) => setName(event.target.value)} error={errors.name} disabled={!writable} />
        {segment ? null : (
          <div className="field">
            <label htmlFor="segment-kind">Kind</label>
            <select id="segment-kind" value={kind} onChange={(event) => setKind(event.target.value as Segment['kind'])}>
              <option value="dynamic">Dynamic: contacts matching filters, kept current</option>
              <option value="static">Static list: contacts added by hand</option>
            </select>
          </div>
        )}
        {kind === 'dynamic' ? <DefinitionEditor value={definition} onChange={setDefinition} /> : <p className="muted small">A static list starts empty; add contacts to it through the API.</p>}
        {writable ? (
          <div className="row">
            <button type="submit" className="button primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save segment'}
            </button>
          </div>
        ) : null}
      </form>
      {segment ? (
        <section className="panel stack" aria-labelledby="members-title">
          <h2 id="members-title">Members</h2>
          {members.status === 'loading' ? <Spinner /> : null}
          {members.status === 'error' ? <Alert>{members.message}</Alert> : null}
          {members.status === 'ready' && members.data ? (
            members.data.contacts.length === 0 ? (
              <p className="muted">No contact is in this segment.</p>
            ) : (
              <ul className="member-list" aria-label="Segment members">
                {members.data.contacts.map((contact) => (
                  <li key={contact.id}>
                    <Link to={`/contacts/${contact.id}`}>{contactName(contact)}</Link> <span className="muted small">{contact.email}</span>
                  </li>
                ))}
              </ul>
            )
          ) : null}
        </section>
      ) : null}
    </>
  );
}

export function SegmentPage({ segmentId }: { segmentId: string }) {
  const [loaded] = useLoad(() => (segmentId === 'new' ? Promise.resolve(undefined) : api.segments.get(segmentId)), [segmentId]);
  if (loaded.status === 'loading') return <Spinner />;
  if (loaded.status === 'error') return <Alert>{loaded.message}</Alert>;
  return (
    <section>
      <SegmentForm key={loaded.data?.id ?? 'new'} segment={loaded.data} />
    </section>
  );
}

export function SegmentsPage() {
  const can = useCan();
  const [loaded] = useLoad(() => api.segments.list(), []);
  const body = (
    <LoadedList state={loaded} items={(data) => data.segments} loadingLabel="Loading segments…" empty="No segments yet.">
      {(data) => (
        <div className="table-wrap">
          <table className="table" aria-label="Segments">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col" className="num">
                  Members
                </th>
                <th scope="col" className="hide-narrow">
                  Updated
                </th>
              </tr>
            </thead>
            <tbody>
              {data.segments.map((segment) => (
                <tr key={segment.id} className="clickable" onClick={() => navigate(`/segments/${segment.id}`)}>
                  <td>
                    <Link to={`/segments/${segment.id}`} onClick={(event) => event.stopPropagation()}>
                      {segment.name}
                    </Link>
                  </td>
                  <td>{segment.kind}</td>
                  <td className="num">{segment.memberCount}</td>
                  <td className="hide-narrow">{formatDate(segment.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </LoadedList>
  );
  return (
    <section>
      <PageHeader title="Segments">
        {can('segments:write') ? (
          <button type="button" className="button primary" onClick={() => navigate('/segments/new')}>
            New segment
          </button>
        ) : null}
      </PageHeader>
      {body}
    </section>
  );
}
