/**
 * Email › Messages: every outbox message with its delivery status (filterable, loaded page by
 * page), and one message with its send attempts and its engagement events. An 'uncertain'
 * message (the provider may have accepted it; retrying could send it twice) offers the
 * operator's decisions: resend it or mark it sent.
 */
import { useEffect, useState } from 'react';
import { api, errorMessage, MESSAGE_STATUSES, type MessageStatus, type MessageSummary } from '../api';
import { Link, navigate } from '../router';
import { useCan } from '../session';
import { Alert, Badge, formatDate, PageHeader, Spinner, useLoad } from '../ui';
import { EmailTabs } from './Email';

const PAGE_SIZE = 50;

export function MessagesPage() {
  const [status, setStatus] = useState<MessageStatus | ''>('');
  const [loaded, reload] = useLoad(() => api.messages.list({ limit: PAGE_SIZE, status: status || undefined }), [status]);
  const [uncertain, reloadUncertain] = useLoad(() => api.messages.list({ limit: 1, status: 'uncertain' }), []);
  const [rows, setRows] = useState<MessageSummary[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [moreError, setMoreError] = useState<string>();
  useEffect(() => {
    if (loaded.status === 'ready') {
      setRows(loaded.data.messages);
      setNextCursor(loaded.data.nextCursor);
      setMoreError(undefined);
    }
  }, [loaded]);

  const more = async () => {
    if (!nextCursor) return;
    try {
      const page = await api.messages.list({ limit: PAGE_SIZE, status: status || undefined, cursor: nextCursor });
      setRows((previous) => [...previous, ...page.messages]);
      setNextCursor(page.nextCursor);
    } catch (error) {
      setMoreError(errorMessage(error));
    }
  };

  return (
    <section>
      <PageHeader title="Email">
        <button type="button" className="button" onClick={() => void Promise.all([reload(), reloadUncertain()])}>
          Refresh
        </button>
      </PageHeader>
      <EmailTabs active="messages" />
      {uncertain.status === 'ready' && uncertain.data.messages.length > 0 && status !== 'uncertain' ? (
        <div data-testid="uncertain-notice">
          <Alert kind="info">
            Some messages are uncertain: a provider may have accepted them, so they wait for your decision.{' '}
            <button type="button" className="button ghost" onClick={() => setStatus('uncertain')}>
              Show uncertain messages
            </button>
          </Alert>
        </div>
      ) : null}
      <div className="row align-end">
        <div className="field">
          <label htmlFor="message-status">Status</label>
          <select id="message-status" value={status} onChange={(event) => setStatus(event.target.value as MessageStatus | '')}>
            <option value="">All statuses</option>
            {MESSAGE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </div>
      {loaded.status === 'loading' ? <Spinner label="Loading messages…" /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {loaded.status === 'ready' && rows.length === 0 ? <div className="empty">{status ? `No ${status} messages.` : 'No messages yet.'}</div> : null}
      {loaded.status === 'ready' && rows.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Messages">
            <thead>
              <tr>
                <th scope="col">To</th>
                <th scope="col">Subject</th>
                <th scope="col">Status</th>
                <th scope="col" className="hide-narrow">
                  Attempts
                </th>
                <th scope="col" className="hide-narrow">
                  Source
                </th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((message) => (
                <tr key={message.id} className="clickable" onClick={() => navigate(`/email/messages/${message.id}`)}>
                  <td className="break">
                    <Link to={`/email/messages/${message.id}`} onClick={(event) => event.stopPropagation()}>
                      {message.to}
                    </Link>
                  </td>
                  <td>{message.subject || '(no subject)'}</td>
                  <td>
                    <Badge tone={message.status}>{message.status}</Badge>
                  </td>
                  <td className="hide-narrow">{message.attempts}</td>
                  <td className="hide-narrow">{message.sourceType}</td>
                  <td>{formatDate(message.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {moreError ? <Alert>{moreError}</Alert> : null}
      {nextCursor ? (
        <button type="button" className="button" onClick={() => void more()}>
          Load more
        </button>
      ) : null}
    </section>
  );
}

function OperatorActions({ message, onDone }: { message: MessageSummary; onDone: () => Promise<void> }) {
  const can = useCan();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  if (message.status !== 'uncertain' && message.status !== 'failed') return null;
  const act = async (action: 'resend' | 'markSent') => {
    setBusy(true);
    setError(undefined);
    try {
      await (action === 'resend' ? api.messages.resend(message.id) : api.messages.markSent(message.id));
      await onDone();
    } catch (caught) {
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="stack" data-testid="operator-actions">
      {message.status === 'uncertain' ? (
        <Alert kind="info">
          The provider may have accepted this email: the connection was lost after it was handed over, and this provider cannot recognise a repeat. It was not retried
          automatically so the recipient does not get it twice. Check the provider&apos;s log, then mark it sent or send it again.
        </Alert>
      ) : null}
      {error ? <Alert>{error}</Alert> : null}
      {can('messages:write') ? (
        <div className="row">
          <button type="button" className="button" disabled={busy} onClick={() => void act('resend')}>
            Resend
          </button>
          {message.status === 'uncertain' ? (
            <button type="button" className="button primary" disabled={busy} onClick={() => void act('markSent')}>
              Mark as sent
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

export function MessagePage({ messageId }: { messageId: string }) {
  const [loaded, reload] = useLoad(() => api.messages.get(messageId), [messageId]);
  let body;
  if (loaded.status === 'loading') body = <Spinner label="Loading message…" />;
  else if (loaded.status === 'error') body = <Alert>{loaded.message}</Alert>;
  else {
    const { message, attempts, events } = loaded.data;
    body = (
      <article className="stack" aria-labelledby="message-subject">
        <h2 id="message-subject">{message.subject || '(no subject)'}</h2>
        <OperatorActions message={message} onDone={reload} />
        <dl className="details">
          <div>
            <dt>Status</dt>
            <dd data-testid="message-status">
              <Badge tone={message.status}>{message.status}</Badge>
            </dd>
          </div>
          <div>
            <dt>From</dt>
            <dd className="break">{message.from}</dd>
          </div>
          <div>
            <dt>To</dt>
            <dd className="break">{message.contactId ? <Link to={`/contacts/${message.contactId}`}>{message.to}</Link> : message.to}</dd>
          </div>
          <div>
            <dt>Source</dt>
            <dd>
              {message.sourceType}
              {message.sourceId ? ` · ${message.sourceId}` : ''}
            </dd>
          </div>
          <div>
            <dt>Provider</dt>
            <dd className="break">
              {message.provider ?? '—'}
              {message.providerMessageId ? ` · ${message.providerMessageId}` : ''}
            </dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>{formatDate(message.createdAt)}</dd>
          </div>
          <div>
            <dt>Sent</dt>
            <dd>{formatDate(message.sentAt)}</dd>
          </div>
          {message.lastError ? (
            <div>
              <dt>Last error</dt>
              <dd className="break">{message.lastError}</dd>
            </div>
          ) : null}
        </dl>

        <h3>Send attempts</h3>
        {attempts.length === 0 ? (
          <div className="empty">No attempt yet.</div>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label="Send attempts">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Result</th>
                  <th scope="col">Latency</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {attempts.map((attempt, index) => (
                  <tr key={index}>
                    <td>{formatDate(attempt.attemptedAt)}</td>
                    <td>{attempt.provider}</td>
                    <td>
                      <Badge tone={attempt.result}>{attempt.result.replace('_', ' ')}</Badge>
                    </td>
                    <td>{attempt.latencyMs} ms</td>
                    <td className="break">{attempt.error ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}

        <h3>Engagement</h3>
        {events.length === 0 ? (
          <div className="empty">No engagement events.</div>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label="Engagement events">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Event</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {events.map((event) => (
                  <tr key={event.id}>
                    <td>{formatDate(event.occurredAt)}</td>
                    <td>{event.name}</td>
                    <td className="break">{typeof event.properties.url === 'string' ? event.properties.url : event.properties.machineOpen === true ? 'machine open' : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </article>
    );
  }
  return (
    <section>
      <PageHeader title="Message">
        <Link to="/email/messages" className="button ghost">
          All messages
        </Link>
        <button type="button" className="button" onClick={() => void reload()}>
          Refresh
        </button>
      </PageHeader>
      {body}
    </section>
  );
}
