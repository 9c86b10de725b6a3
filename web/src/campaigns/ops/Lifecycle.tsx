/**
 * A campaign's lifecycle controls: pause, resume, archive (confirmed) and duplicate in the page
 * header, and the publish dialog — what changes against the running version, in words, and the
 * choice of moving running enrollments to the new version (as far as `migrate` allows).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { Campaign } from '../../api';
import { errorMessage } from '../../http';
import { navigate } from '../../router';
import { Alert, Spinner } from '../../ui';
import { keys, opsApi, type PublishPreview } from './ops-api';

export function LifecycleActions({ campaign, onChanged, onMessage }: { campaign: Campaign; onChanged: () => void; onMessage: (message: { kind: 'success' | 'error'; text: string }) => void }) {
  const [confirmArchive, setConfirmArchive] = useState(false);
  const status = useMutation({
    mutationFn: (action: 'pause' | 'resume' | 'archive') => opsApi.setStatus(campaign.id, action),
    onSuccess: (answer, action) => {
      setConfirmArchive(false);
      onMessage({ kind: 'success', text: action === 'pause' ? 'Paused: nobody moves on and nobody new enters until you resume.' : action === 'resume' ? 'Resumed: contacts move on from where they waited.' : 'Archived: the campaign is read-only now.' });
      onChanged();
      return answer;
    },
    onError: (error) => onMessage({ kind: 'error', text: errorMessage(error) }),
  });
  const duplicate = useMutation({
    mutationFn: () => opsApi.duplicate(campaign.id),
    onSuccess: (answer) => navigate(`/campaigns/${answer.campaign.id}`),
    onError: (error) => onMessage({ kind: 'error', text: errorMessage(error) }),
  });
  const busy = status.isPending || duplicate.isPending;
  return (
    <>
      {campaign.status === 'active' ? (
        <button type="button" className="button" disabled={busy} onClick={() => status.mutate('pause')}>
          Pause
        </button>
      ) : null}
      {campaign.status === 'paused' ? (
        <button type="button" className="button primary" disabled={busy} onClick={() => status.mutate('resume')}>
          Resume
        </button>
      ) : null}
      <button type="button" className="button" disabled={busy} onClick={() => duplicate.mutate()}>
        {duplicate.isPending ? 'Duplicating…' : 'Duplicate'}
      </button>
      {campaign.status !== 'archived' && !confirmArchive ? (
        <button type="button" className="button ghost" disabled={busy} onClick={() => setConfirmArchive(true)}>
          Archive
        </button>
      ) : null}
      {confirmArchive ? (
        <span role="group" aria-label="Confirm archiving" className="row">
          <span className="small">Archive for good? Running journeys stop.</span>
          <button type="button" className="button danger small" disabled={busy} onClick={() => status.mutate('archive')}>
            Archive campaign
          </button>
          <button type="button" className="button ghost small" onClick={() => setConfirmArchive(false)}>
            Keep it
          </button>
        </span>
      ) : null}
    </>
  );
}

function Changes({ preview }: { preview: PublishPreview }) {
  if (preview.changes.length === 0 && preview.settingsChanges.length === 0 && !preview.edgesChanged) return <p className="muted">No changes against version {preview.currentVersion}.</p>;
  const label = { added: 'Added', removed: 'Removed', changed: 'Changed' } as const;
  return (
    <ul className="publish-changes" aria-label="Changes">
      {preview.changes.map((c) => (
        <li key={`${c.change}-${c.nodeId}`}>
          <strong>{label[c.change]}</strong> {c.name}: {c.summary}
        </li>
      ))}
      {preview.settingsChanges.map((text) => (
        <li key={text}>
          <strong>Settings</strong> {text}
        </li>
      ))}
      {preview.edgesChanged ? (
        <li>
          <strong>Connections</strong> Some steps now lead elsewhere
        </li>
      ) : null}
    </ul>
  );
}

/** Publishing after review. `onPublished` gets the message to show. */
export function PublishDialog({ campaignId, onClose, onPublished, onError }: { campaignId: string; onClose: () => void; onPublished: (message: string) => void; onError?: (error: unknown) => void }) {
  const client = useQueryClient();
  const preview = useQuery({ queryKey: [...keys.campaign(campaignId), 'publish-preview'], queryFn: () => opsApi.publishPreview(campaignId), staleTime: 0 });
  const [migrate, setMigrate] = useState<Set<number>>(new Set());
  const publish = useMutation({
    mutationFn: async () => {
      const answer = await opsApi.publish(campaignId);
      let moved = 0;
      let stayed = 0;
      for (const version of migrate) {
        if (version === answer.campaign.currentVersion) continue;
        const result = await opsApi.migrate(campaignId, version);
        moved += result.moved;
        stayed += result.stayed;
      }
      return { version: answer.campaign.currentVersion, moved, stayed };
    },
    onSuccess: ({ version, moved, stayed }) => {
      void client.invalidateQueries({ queryKey: keys.campaign(campaignId) });
      const migrated = moved + stayed > 0 ? ` ${moved} running contact${moved === 1 ? '' : 's'} moved to it${stayed > 0 ? `; ${stayed} stayed where their step no longer exists` : ''}.` : '';
      onPublished(`Published version ${version}: new enrollments follow it.${migrated}`);
    },
    onError: (error) => onError?.(error),
  });
  return (
    <section className="panel stack" role="dialog" aria-modal="false" aria-labelledby="publish-title">
      <h2 id="publish-title">Publish {preview.data ? `version ${preview.data.nextVersion}` : ''}</h2>
      {preview.isPending ? <Spinner label="Comparing with the running version…" /> : null}
      {preview.isError ? <Alert>{errorMessage(preview.error)}</Alert> : null}
      {preview.data ? (
        <>
          {preview.data.currentVersion === null ? <p>This is the first version: contacts can enter once it is published.</p> : <p>Compared with the running version {preview.data.currentVersion}:</p>}
          {preview.data.currentVersion === null ? null : <Changes preview={preview.data} />}
          {preview.data.inFlight.length > 0 ? (
            <fieldset>
              <legend>Contacts already in the campaign</legend>
              <p className="muted small">They finish on the version they started unless you move them. Only those at a step that still exists with the same type can move.</p>
              {preview.data.inFlight.map((v) => (
                <label key={v.version} className="inline-check">
                  <input
                    type="checkbox"
                    disabled={v.movable === 0}
                    checked={migrate.has(v.version)}
                    onChange={(event) =>
                      setMigrate((previous) => {
                        const next = new Set(previous);
                        if (event.target.checked) next.add(v.version);
                        else next.delete(v.version);
                        return next;
                      })
                    }
                  />{' '}
                  Move {v.movable} of {v.running} running on version {v.version} to the new version
                </label>
              ))}
            </fieldset>
          ) : null}
        </>
      ) : null}
      {publish.isError ? <Alert>{errorMessage(publish.error)}</Alert> : null}
      <div className="row">
        <button type="button" className="button primary" disabled={!preview.data || publish.isPending} onClick={() => publish.mutate()}>
          {publish.isPending ? 'Publishing…' : 'Publish now'}
        </button>
        <button type="button" className="button ghost" onClick={onClose}>
          Cancel
        </button>
      </div>
    </section>
  );
}
