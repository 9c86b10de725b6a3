/**
 * Broadcasts: the scheduled ones first (when, to which segment and how many members it has now,
 * in the workspace's time zone) with a cancel button, then the ones sent, superseded by a newer
 * version, or cancelled. Used on a campaign (its own broadcasts) and on the campaigns page (all).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { errorMessage } from '../../http';
import { Link } from '../../router';
import { Alert, Badge, Spinner } from '../../ui';
import { formatInZone } from '../forms/zoned';
import { keys, opsApi, type Broadcast } from './ops-api';

const STATUS_WORDS: Record<Broadcast['status'], string> = { scheduled: 'Scheduled', done: 'Sent', superseded: 'Replaced by a newer version', cancelled: 'Cancelled' };

export function BroadcastsPanel({ campaignId, editable }: { campaignId?: string; editable: boolean }) {
  const client = useQueryClient();
  const list = useQuery({ queryKey: keys.broadcasts(campaignId), queryFn: () => opsApi.broadcasts(campaignId ? { campaignId } : {}) });
  const cancel = useMutation({
    mutationFn: (b: Broadcast) => opsApi.cancelBroadcast(b.campaignId, b.version),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['broadcasts'] }),
  });
  if (list.isPending) return <Spinner label="Loading broadcasts…" />;
  if (list.isError) return <Alert>{errorMessage(list.error)}</Alert>;
  const zone = list.data.timeZone;
  const rows = list.data.broadcasts;
  if (rows.length === 0) {
    return <div className="empty">No broadcasts yet. Choose “Broadcast to a segment” as a campaign’s trigger, set a time, and publish: it is listed here until it goes out.</div>;
  }
  return (
    <div className="stack">
      {cancel.isError ? <Alert>{errorMessage(cancel.error)}</Alert> : null}
      {cancel.isSuccess ? <Alert kind="success">Broadcast cancelled: nobody will be enrolled by it.</Alert> : null}
      <div className="table-wrap">
        <table className="table" aria-label="Broadcasts">
          <thead>
            <tr>
              {campaignId ? null : <th scope="col">Campaign</th>}
              <th scope="col">Sends at ({zone})</th>
              <th scope="col">Segment</th>
              <th scope="col">Status</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((b) => (
              <tr key={`${b.campaignId}-${b.version}`} data-testid="broadcast-row">
                {campaignId ? null : (
                  <td>
                    <Link to={`/campaigns/${b.campaignId}`}>{b.campaignName}</Link> <span className="muted small">v{b.version}</span>
                  </td>
                )}
                <td>
                  <time dateTime={b.runAt}>{formatInZone(b.runAt, zone)}</time>
                </td>
                <td>
                  {b.segmentName ?? 'a deleted segment'} <span className="muted small">({b.segmentSize} now)</span>
                </td>
                <td>
                  <Badge tone={b.status === 'scheduled' ? 'active' : b.status === 'cancelled' ? 'archived' : 'draft'}>{STATUS_WORDS[b.status]}</Badge>
                  {b.status === 'done' ? <div className="muted small">{b.enrolled ?? 0} enrolled</div> : null}
                </td>
                <td>
                  {b.status === 'scheduled' && editable ? (
                    <button type="button" className="button small danger" disabled={cancel.isPending} onClick={() => cancel.mutate(b)} aria-label={`Cancel broadcast: ${b.campaignName} at ${formatInZone(b.runAt, zone)}`}>
                      Cancel broadcast
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
