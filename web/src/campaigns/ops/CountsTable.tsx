/**
 * Live per-step counts in a table: how many contacts entered each step, wait there now, went on
 * or failed, and for email steps what happened to the emails (sent, opened, clicked…), refreshed
 * every few seconds; plus enrollments by status and goal conversions.
 */
import { useQuery } from '@tanstack/react-query';
import { api, type CampaignDefinition } from '../../api';
import { errorMessage } from '../../http';
import { Alert, Spinner } from '../../ui';
import { keys } from './ops-api';

const POLL_MS = 5000;
const pct = (part: number, whole: number) => (whole === 0 ? '–' : `${Math.round((part / whole) * 100)}%`);

export function CountsTable({ campaignId, definition }: { campaignId: string; definition: CampaignDefinition }) {
  const detail = useQuery({ queryKey: [...keys.campaign(campaignId), 'metrics'], queryFn: () => api.campaigns.get(campaignId).then((d) => d.metrics), refetchInterval: POLL_MS });
  if (detail.isPending) return <Spinner label="Loading counts…" />;
  if (detail.isError) return <Alert>{errorMessage(detail.error)}</Alert>;
  const { nodes, emails, enrollments, conversions } = detail.data;
  const total = Object.values(enrollments).reduce((a, b) => a + b, 0);
  return (
    <div className="stack">
      <p className="small" role="status">
        {total} enrolled · {enrollments.active} running · {enrollments.paused} paused · {enrollments.completed} completed · {enrollments.exited} exited · {enrollments.failed} failed · {conversions} reached the goal ({pct(conversions, total)})
      </p>
      <div className="table-wrap">
        <table className="table" aria-label="Counts per step">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Entered</th>
              <th scope="col">Waiting</th>
              <th scope="col">Done</th>
              <th scope="col">Failed</th>
              <th scope="col">Emails sent</th>
              <th scope="col">Opened</th>
              <th scope="col">Clicked</th>
              <th scope="col">Bounced</th>
              <th scope="col">Unsubscribed</th>
            </tr>
          </thead>
          <tbody>
            {definition.nodes.map((node) => {
              const n = nodes[node.id];
              const e = emails[node.id];
              return (
                <tr key={node.id} data-testid={`counts-${node.id}`}>
                  <th scope="row">
                    {node.name || node.id} <span className="muted small">{node.type}</span>
                  </th>
                  <td>{n?.entered ?? 0}</td>
                  <td>{n?.waiting ?? 0}</td>
                  <td>{n?.completed ?? 0}</td>
                  <td>{n?.failed ?? 0}</td>
                  {node.type === 'email' ? (
                    <>
                      <td>{e?.sent ?? 0}</td>
                      <td>
                        {e?.opened ?? 0} <span className="muted small">{pct(e?.opened ?? 0, e?.sent ?? 0)}</span>
                      </td>
                      <td>
                        {e?.clicked ?? 0} <span className="muted small">{pct(e?.clicked ?? 0, e?.sent ?? 0)}</span>
                      </td>
                      <td>{e?.bounced ?? 0}</td>
                      <td>{e?.unsubscribed ?? 0}</td>
                    </>
                  ) : (
                    <td colSpan={5} className="muted small">
                      not an email
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p className="muted small">Refreshes every few seconds.</p>
    </div>
  );
}
