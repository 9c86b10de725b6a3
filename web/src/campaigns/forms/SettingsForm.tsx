/**
 * The campaign settings form: the goal (an event or entering a segment; reaching it exits the
 * contact as a conversion), the re-entry rule, the priority for frequency caps, and the
 * workspace's frequency cap itself (saved at once, for every campaign).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { CampaignSettingsValue } from '@server/campaigns/definition.schemas.js';
import { errorMessage } from '../../http';
import { useCan } from '../../session';
import { Alert, Spinner } from '../../ui';
import { opsApi, useSegments } from '../ops/ops-api';
import { Choice, num, str, Text } from './fields';

type Settings = CampaignSettingsValue;
type GoalKind = 'none' | 'event' | 'segment';

function FrequencyCapForm() {
  const can = useCan();
  const client = useQueryClient();
  const cap = useQuery({ queryKey: ['frequency-cap'], queryFn: () => opsApi.frequencyCap().then((r) => r.frequencyCap) });
  const [draft, setDraft] = useState<{ maxEmails: string; windowHours: string }>();
  const save = useMutation({
    mutationFn: (value: { maxEmails: number; windowHours: number } | null) => opsApi.setFrequencyCap(value),
    onSuccess: (answer) => {
      client.setQueryData(['frequency-cap'], answer.frequencyCap);
      setDraft(undefined);
    },
  });
  if (cap.isPending) return <Spinner label="Loading the frequency cap…" />;
  if (cap.isError) return <Alert>{errorMessage(cap.error)}</Alert>;
  const shown = draft ?? { maxEmails: str(cap.data?.maxEmails), windowHours: str(cap.data?.windowHours) };
  const editable = can('settings:write');
  const max = num(shown.maxEmails);
  const hours = num(shown.windowHours);
  return (
    <fieldset>
      <legend>Frequency cap (whole workspace)</legend>
      <p className="muted small">{cap.data ? `At most ${cap.data.maxEmails} campaign emails per contact in ${cap.data.windowHours} hours; more are deferred, not dropped.` : 'No cap: contacts get every campaign email as it comes.'}</p>
      {save.isError ? <Alert>{errorMessage(save.error)}</Alert> : null}
      <div className="row">
        <Text label="Emails at most" id="cap-max" type="number" min={1} max={100} value={shown.maxEmails} onChange={(maxEmails) => setDraft({ ...shown, maxEmails })} />
        <Text label="Per hours" id="cap-window" type="number" min={1} max={744} value={shown.windowHours} onChange={(windowHours) => setDraft({ ...shown, windowHours })} />
      </div>
      {editable ? (
        <div className="row">
          <button type="button" className="button small" disabled={save.isPending || max === undefined || hours === undefined} onClick={() => save.mutate({ maxEmails: max!, windowHours: hours! })}>
            Save cap
          </button>
          {cap.data ? (
            <button type="button" className="button small ghost" disabled={save.isPending} onClick={() => save.mutate(null)}>
              Remove cap
            </button>
          ) : null}
        </div>
      ) : (
        <p className="muted small">Only owners and admins change the cap.</p>
      )}
    </fieldset>
  );
}

export function SettingsForm({ settings, onChange }: { settings: Settings | undefined; onChange: (settings: Settings) => void }) {
  const segments = useSegments();
  const value = settings ?? {};
  const goal = value.goal;
  const goalKind: GoalKind = !goal ? 'none' : 'eventName' in goal ? 'event' : 'segment';
  const set = <K extends keyof Settings>(key: K, next: Settings[K] | undefined) => {
    const copy = { ...value };
    if (next === undefined) delete copy[key];
    else copy[key] = next;
    onChange(copy);
  };
  const reentry = value.reentry ?? { mode: 'never' as const };
  return (
    <div className="stack">
      <fieldset>
        <legend>Goal</legend>
        <Choice
          label="Contacts reach the goal when"
          id="settings-goal"
          value={goalKind}
          options={[
            ['none', 'No goal'],
            ['event', 'An event happens'],
            ['segment', 'They enter a segment'],
          ]}
          onChange={(kind: GoalKind) => set('goal', kind === 'none' ? undefined : kind === 'event' ? { eventName: '' } : { kind: 'segment', segmentId: '' })}
          hint="Reaching the goal exits the contact from the campaign and counts a conversion."
        />
        {goal && 'eventName' in goal ? <Text label="Goal event" id="settings-goal-event" value={goal.eventName} onChange={(eventName) => set('goal', { eventName })} example="order_completed" /> : null}
        {goal && 'segmentId' in goal ? (
          <Choice label="Goal segment" id="settings-goal-segment" value={goal.segmentId} options={[['', 'Choose a segment'], ...(segments.data ?? []).map((s) => [s.id, s.name] as const)]} onChange={(segmentId) => set('goal', { kind: 'segment', segmentId })} />
        ) : null}
      </fieldset>
      <fieldset>
        <legend>Re-entry</legend>
        <Choice
          label="A contact who finished may enter again"
          id="settings-reentry"
          value={reentry.mode}
          options={[
            ['never', 'Never'],
            ['after', 'After some days'],
            ['always', 'Always'],
          ]}
          onChange={(mode) => set('reentry', mode === 'after' ? { mode, days: reentry.days ?? 30 } : mode === 'never' ? undefined : { mode })}
          hint="A contact is never in the campaign twice at the same time."
        />
        {reentry.mode === 'after' ? <Text label="Days after entering" id="settings-reentry-days" type="number" min={1} max={3650} value={str(reentry.days)} onChange={(text) => set('reentry', { mode: 'after', ...(num(text) === undefined ? {} : { days: num(text)! }) })} /> : null}
      </fieldset>
      <Choice
        label="Priority"
        id="settings-priority"
        value={value.priority ?? 'lifecycle'}
        options={[
          ['transactional', 'Transactional (never capped, no unsubscribe topic)'],
          ['lifecycle', 'Lifecycle (default)'],
          ['promotional', 'Promotional (leaves room for lifecycle under the cap)'],
        ]}
        onChange={(priority) => set('priority', priority === 'lifecycle' ? undefined : priority)}
      />
      <FrequencyCapForm />
    </div>
  );
}
