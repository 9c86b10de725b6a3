/**
 * The dev inbox: emails captured when no provider is configured. The HTML part is shown in an
 * iframe with an empty `sandbox` (no scripts, no same-origin access, no forms, no navigation).
 */
import { useState } from 'react';
import { api } from '../api';
import { Link } from '../router';
import { headerRows } from '../format';
import { Alert, formatDate, PageHeader, Spinner, useLoad } from '../ui';

type Tab = 'html' | 'text' | 'headers';

function MessageView({ messageId }: { messageId: string }) {
  const [loaded] = useLoad(() => api.inbox.get(messageId), [messageId]);
  const [tab, setTab] = useState<Tab>('html');
  if (loaded.status === 'loading') return <Spinner label="Loading message…" />;
  if (loaded.status === 'error') return <Alert>{loaded.message}</Alert>;
  const message = loaded.data;
  const tabs: Array<{ id: Tab; label: string }> = [
    { id: 'html', label: 'HTML' },
    { id: 'text', label: 'Text' },
    { id: 'headers', label: 'Headers' },
  ];
  const rows = headerRows(message.headers);
  return (
    <article className="message" aria-labelledby="message-subject">
      <header className="message-head">
        <h2 id="message-subject">{message.subject || '(no subject)'}</h2>
        <dl className="details compact">
          <div>
            <dt>From</dt>
            <dd className="break">{message.from}</dd>
          </div>
          <div>
            <dt>To</dt>
            <dd className="break">{message.to}</dd>
          </div>
          <div>
            <dt>Received</dt>
            <dd>{formatDate(message.createdAt)}</dd>
          </div>
        </dl>
      </header>
      <div className="tabs" role="tablist" aria-label="Message parts">
        {tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            className={tab === t.id ? 'tab active' : 'tab'}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} className="tab-panel">
        {tab === 'html' ? (
          message.html ? (
            <iframe title="Email HTML" sandbox="" srcDoc={message.html} className="email-frame" />
          ) : (
            <p className="muted">This email has no HTML part.</p>
          )
        ) : null}
        {tab === 'text' ? message.text ? <pre className="email-text">{message.text}</pre> : <p className="muted">This email has no text part.</p> : null}
        {tab === 'headers' ? (
          rows.length > 0 ? (
            <table className="table compact" aria-label="Headers">
              <tbody>
                {rows.map(([name, value], index) => (
                  <tr key={`${name}-${index}`}>
                    <th scope="row">{name}</th>
                    <td className="break mono">{value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">No headers recorded.</p>
          )
        ) : null}
      </div>
    </article>
  );
}

export function InboxPage({ messageId }: { messageId: string | undefined }) {
  const [loaded] = useLoad(() => api.inbox.list(), [], 5000);
  return (
    <section>
      <PageHeader title="Dev inbox" />
      <p className="muted small">With no email provider configured, every email Unite Hub sends lands here instead.</p>
      <div className={`inbox${messageId ? ' inbox-reading' : ''}`}>
        <nav className="inbox-list panel" aria-label="Messages">
          {loaded.status === 'loading' ? <Spinner /> : null}
          {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
          {loaded.status === 'ready' && loaded.data.messages.length === 0 ? <p className="muted">No emails captured yet.</p> : null}
          {loaded.status === 'ready' && loaded.data.messages.length > 0 ? (
            <ul>
              {loaded.data.messages.map((message) => (
                <li key={message.id}>
                  <Link to={`/inbox/${message.id}`} className={message.id === messageId ? 'inbox-item active' : 'inbox-item'} aria-current={message.id === messageId ? 'page' : undefined}>
                    <span className="inbox-subject">{message.subject || '(no subject)'}</span>
                    <span className="muted small break">To {message.to}</span>
                    <span className="muted small">{formatDate(message.createdAt)}</span>
                  </Link>
                </li>
              ))}
            </ul>
          ) : null}
        </nav>
        <div className="inbox-view panel">
          {messageId ? (
            <>
              <p className="back-narrow">
                <Link to="/inbox">← All messages</Link>
              </p>
              <MessageView key={messageId} messageId={messageId} />
            </>
          ) : (
            <p className="muted">Choose a message to read it.</p>
          )}
        </div>
      </div>
    </section>
  );
}
