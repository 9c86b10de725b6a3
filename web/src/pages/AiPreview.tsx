/** The template editor's AI preview: the saved template personalized for one contact, next to the original. */
import { useState } from 'react';
import { api, errorMessage, type AiPersonalized } from '../api';
import { Alert, Badge, Spinner } from '../ui';

export function AiPreview({ templateId, contactId }: { templateId: string; contactId: string }) {
  const [result, setResult] = useState<AiPersonalized>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const run = async (mode: 'offline' | 'provider') => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api.ai.personalize({ templateId, contactId, mode }));
    } catch (caught) {
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel stack" aria-labelledby="ai-preview-title">
      <h2 id="ai-preview-title">AI personalization preview</h2>
      <div className="row">
        <button type="button" className="button" disabled={busy} onClick={() => void run('offline')}>
          Personalize offline
        </button>
        <button type="button" className="button" disabled={busy} onClick={() => void run('provider')}>
          With the workspace provider
        </button>
      </div>
      {busy ? <Spinner label="Personalizing…" /> : null}
      {error ? <Alert>{error}</Alert> : null}
      {result ? (
        <>
          <p>
            <Badge tone={result.outcome === 'ok' ? 'active' : 'paused'}>{result.outcome}</Badge> {result.provider}/{result.model}
            {result.reasonCode ? ` — ${result.reasonCode}: ${result.reason ?? ''} (the original would be sent)` : ''}
            {result.changes.length > 0 ? ` — ${result.changes.join('; ')}` : ''}
          </p>
          <div className="row wrap">
            {(['original', 'personalized'] as const).map((side) => {
              const rendered = result.rendered[side];
              return (
                <div key={side} className="stack" style={{ flex: 1, minWidth: 240 }}>
                  <h3 className="small muted">{side === 'original' ? 'Original' : 'Personalized'}</h3>
                  {rendered ? (
                    <>
                      <strong data-testid={`ai-${side}-subject`}>{rendered.subject}</strong>
                      <iframe title={`${side} email`} sandbox="" srcDoc={rendered.html} className="email-frame preview-frame" />
                    </>
                  ) : (
                    <p className="muted">Cannot be rendered for this contact.</p>
                  )}
                </div>
              );
            })}
          </div>
        </>
      ) : null}
    </section>
  );
}
