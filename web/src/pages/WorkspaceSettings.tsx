/**
 * Settings → Workspace: the workspace's name and time zone (digests, broadcasts and reports count
 * days and hours in it), with the current local time there. Owners and admins edit; everyone else
 * reads. The zone list is the browser's (Intl.supportedValuesOf), searchable by any part of a name.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, errorMessage, fieldErrors, type WorkspaceSettings } from '../api';
import { useMe, useSession } from '../session';
import { Alert, Field, Spinner, useLoad } from '../ui';

/** Every IANA zone the browser knows, UTC first; the saved zone is kept even if the browser lacks it. */
export function timeZoneOptions(current: string): string[] {
  const known = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const zones = new Set(['UTC', ...known]);
  zones.add(current);
  return [...zones];
}

/** "Europe/Berlin" → "Europe / Berlin"; "America/Argentina/Buenos_Aires" → "America / Argentina / Buenos Aires". */
const zoneLabel = (zone: string): string => zone.replace(/_/g, ' ').split('/').join(' / ');

/** The local time in `zone` at `now`, e.g. "Thu 3 Dec, 14:05 (GMT+1)". */
export function localTimeIn(zone: string, now: Date): string {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: zone, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' }).format(now);
  } catch {
    return '—';
  }
}

function useNow(intervalMs: number): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(new Date()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

function WorkspaceForm({ settings, canWrite, onSaved }: { settings: WorkspaceSettings; canWrite: boolean; onSaved: (saved: WorkspaceSettings) => Promise<void> }) {
  const [name, setName] = useState(settings.name);
  const [zone, setZone] = useState(settings.timeZone);
  const [search, setSearch] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState(false);
  const now = useNow(30_000);
  const zones = useMemo(() => timeZoneOptions(settings.timeZone), [settings.timeZone]);
  const shown = useMemo(() => {
    const words = search.toLowerCase().replace(/[\s/]+/g, ' ').trim().split(' ').filter(Boolean);
    const matching = zones.filter((z) => words.every((word) => zoneLabel(z).toLowerCase().includes(word)));
    return matching.includes(zone) ? matching : [zone, ...matching];
  }, [zones, search, zone]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (name.trim() === '') {
      setErrors({ name: 'Give the workspace a name' });
      return;
    }
    setBusy(true);
    setErrors({});
    setError(undefined);
    setNotice(undefined);
    try {
      const patch = { ...(name.trim() !== settings.name ? { name: name.trim() } : {}), ...(zone !== settings.timeZone ? { timeZone: zone } : {}) };
      if (Object.keys(patch).length === 0) {
        setNotice('Nothing changed.');
        return;
      }
      const saved = await api.workspace.update(patch);
      setNotice(`Saved. Days and hours now count in ${zoneLabel(saved.timeZone)}.`);
      await onSaved(saved);
    } catch (caught) {
      setErrors(fieldErrors(caught));
      setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  };

  if (!canWrite) {
    return (
      <dl className="details">
        <div>
          <dt>Name</dt>
          <dd>{settings.name}</dd>
        </div>
        <div>
          <dt>Time zone</dt>
          <dd>
            {zoneLabel(settings.timeZone)} <span className="muted">· now {localTimeIn(settings.timeZone, now)}</span>
          </dd>
        </div>
      </dl>
    );
  }

  return (
    <form className="stack" onSubmit={(event) => void save(event)} noValidate>
      {error ? <Alert>{error}</Alert> : null}
      {notice ? <Alert kind="success">{notice}</Alert> : null}
      <Field label="Workspace name" name="name" value={name} maxLength={200} error={errors.name} onChange={(event) => setName(event.target.value)} />
      <div className={`field${errors.timeZone ? ' field-invalid' : ''}`}>
        <label htmlFor="workspace-zone-search">Find a time zone</label>
        <input
          id="workspace-zone-search"
          type="search"
          placeholder="City or region, e.g. Berlin"
          value={search}
          aria-controls="workspace-zone"
          onChange={(event) => setSearch(event.target.value)}
        />
        <label htmlFor="workspace-zone">Time zone</label>
        <select
          id="workspace-zone"
          size={6}
          value={zone}
          aria-invalid={errors.timeZone ? true : undefined}
          aria-describedby={errors.timeZone ? 'workspace-zone-error' : 'workspace-zone-hint'}
          onChange={(event) => setZone(event.target.value)}
        >
          {shown.map((z) => (
            <option key={z} value={z}>
              {zoneLabel(z)}
            </option>
          ))}
        </select>
        {errors.timeZone ? (
          <p className="field-error" id="workspace-zone-error">
            {errors.timeZone}
          </p>
        ) : (
          <p className="field-hint" id="workspace-zone-hint" aria-live="polite">
            Local time there now: <strong>{localTimeIn(zone, now)}</strong>. Digests, broadcasts and reports count days and hours in this zone.
          </p>
        )}
      </div>
      <div>
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save workspace'}
        </button>
      </div>
    </form>
  );
}

export function WorkspaceSection({ canWrite }: { canWrite: boolean }) {
  const me = useMe();
  const { refresh } = useSession();
  const [loaded, reload] = useLoad(() => api.workspace.get(), []);
  return (
    <section className="panel stack" aria-labelledby="workspace-title">
      <h2 id="workspace-title">Workspace</h2>
      {loaded.status === 'loading' ? <Spinner label="Loading the workspace…" /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {loaded.status === 'ready' ? (
        <WorkspaceForm
          key={loaded.data.id}
          settings={loaded.data}
          canWrite={canWrite}
          onSaved={async () => {
            await reload();
            await refresh();
          }}
        />
      ) : null}
      <dl className="details">
        <div>
          <dt>Your role</dt>
          <dd>{me.role}</dd>
        </div>
        {me.user ? (
          <div>
            <dt>Signed in as</dt>
            <dd className="break">
              {me.user.name} ({me.user.email})
            </dd>
          </div>
        ) : null}
      </dl>
    </section>
  );
}
