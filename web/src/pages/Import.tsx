/**
 * CSV import: choose a file, map its columns (guessed from the header), send it streamed to
 * `POST /api/imports`, follow its progress (`GET /api/imports`, polled while the upload runs:
 * bytes read of the file size and rows done), then the report with the row-level errors.
 */
import { useEffect, useState, type ChangeEvent } from 'react';
import { api, errorMessage, type ImportReport } from '../api';
import { CUSTOM, guessTarget, IGNORE, IMPORT_FIELDS, mappingPairs, parseHeader, progressPercent } from '../contacts/csv';
import { TYPE_LABELS, useCustomFields } from '../contacts/customFields';
import { Link } from '../router';
import { useCan } from '../session';
import { Alert, Badge, formatDate, PageHeader, Spinner, useLoad } from '../ui';

const FIELD_LABEL: Record<string, string> = {
  email: 'Email',
  firstName: 'First name',
  lastName: 'Last name',
  name: 'Full name',
  company: 'Company',
  jobTitle: 'Job title',
  phone: 'Phone',
  status: 'Status',
  tags: 'Tags (comma-separated)',
  timezone: 'Time zone',
  subscriptionState: 'Subscription state',
};
const POLL_MS = 1000;

function Report({ report }: { report: ImportReport }) {
  return (
    <section className="panel stack" aria-label="Import report">
      <h2>
        {report.filename ?? 'Import'} <Badge tone={report.status === 'completed' ? 'active' : report.status === 'failed' ? 'archived' : 'draft'}>{report.status}</Badge>
      </h2>
      {report.failure ? <Alert>{report.failure}</Alert> : null}
      <dl className="details import-counts">
        <div>
          <dt>Rows processed</dt>
          <dd data-testid="rows-processed">{report.rowsProcessed}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd data-testid="rows-created">{report.rowsCreated}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd data-testid="rows-updated">{report.rowsUpdated}</dd>
        </div>
        <div>
          <dt>Failed</dt>
          <dd data-testid="rows-failed">{report.rowsFailed}</dd>
        </div>
      </dl>
      {report.errors.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Row errors">
            <thead>
              <tr>
                <th scope="col" className="num">
                  Row
                </th>
                <th scope="col">Code</th>
                <th scope="col">Problem</th>
              </tr>
            </thead>
            <tbody>
              {report.errors.map((error, index) => (
                <tr key={index}>
                  <td className="num">{error.row}</td>
                  <td>
                    <code>{error.code}</code>
                  </td>
                  <td>{error.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

export function ImportPage() {
  const can = useCan();
  const declared = useCustomFields();
  const [file, setFile] = useState<File>();
  const [header, setHeader] = useState<string[]>([]);
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const [running, setRunning] = useState(false);
  const [progress, setProgress] = useState<ImportReport>();
  const [report, setReport] = useState<ImportReport>();
  const [recent, reloadRecent] = useLoad(() => api.imports.list(), []);

  // While the upload runs, the newest running import of this file shows how far the server got.
  useEffect(() => {
    if (!running || !file) return;
    const timer = window.setInterval(() => {
      void api.imports
        .list()
        .then(({ imports }) => {
          const mine = imports.find((i) => i.status === 'running' && i.filename === file.name);
          if (mine) setProgress(mine);
        })
        .catch(() => undefined);
    }, POLL_MS);
    return () => window.clearInterval(timer);
  }, [running, file]);

  const choose = async (event: ChangeEvent<HTMLInputElement>) => {
    const chosen = event.target.files?.[0];
    setReport(undefined);
    setError(undefined);
    setFile(chosen);
    if (!chosen) return;
    const columns = parseHeader(await chosen.slice(0, 64 * 1024).text());
    if (columns.length === 0) setError('The file has no header row.');
    setHeader(columns);
    setMapping(Object.fromEntries(columns.map((column) => [column, guessTarget(column, declared)])));
  };

  const start = async () => {
    if (!file) return;
    if (!Object.values(mapping).includes('email')) {
      setError('Map one column to Email: contacts are matched and merged by email.');
      return;
    }
    setRunning(true);
    setError(undefined);
    setProgress(undefined);
    try {
      setReport(await api.imports.start(file, file.name, mappingPairs(mapping)));
      await reloadRecent();
    } catch (caught) {
      setError(errorMessage(caught));
    } finally {
      setRunning(false);
    }
  };

  const targetOptions = (column: string): Array<[string, string]> => {
    const own = column.trim().slice(0, 64);
    return [
      ...IMPORT_FIELDS.map((field): [string, string] => [field, FIELD_LABEL[field] ?? field]),
      // Declared fields take their type: a cell that does not fit fails its row.
      ...declared.map((field): [string, string] => [`${CUSTOM}:${field.key}`, `${field.label} (${TYPE_LABELS[field.type].toLowerCase()})`]),
      ...(declared.some((field) => field.key === own) ? [] : [[`${CUSTOM}:${own}`, `Custom field “${own}”`] as [string, string]]),
      [IGNORE, 'Ignore this column'],
    ];
  };

  return (
    <section>
      <p className="crumbs">
        <Link to="/contacts">← Contacts</Link>
      </p>
      <PageHeader title="Import contacts" />
      {!can('contacts:write') ? <Alert kind="info">Your role can read contacts but not import them.</Alert> : null}
      {error ? <Alert>{error}</Alert> : null}
      {can('contacts:write') ? (
        <div className="panel stack">
          <div className="field">
            <label htmlFor="import-file">CSV file (UTF-8, header row first)</label>
            <input id="import-file" type="file" accept=".csv,text/csv" onChange={(event) => void choose(event)} disabled={running} />
          </div>
          {header.length > 0 ? (
            <>
              <p className="muted small">Rows are merged by email: existing contacts are updated, new ones created. Each row that cannot be imported is listed with its reason.</p>
              <div className="table-wrap">
                <table className="table" aria-label="Column mapping">
                  <thead>
                    <tr>
                      <th scope="col">Column</th>
                      <th scope="col">Imports as</th>
                    </tr>
                  </thead>
                  <tbody>
                    {header.map((column, index) => (
                      <tr key={`${column}-${index}`}>
                        <td>{column || <span className="muted">(empty)</span>}</td>
                        <td>
                          <select aria-label={`Field for ${column}`} value={mapping[column] ?? IGNORE} onChange={(event) => setMapping((m) => ({ ...m, [column]: event.target.value }))} disabled={running}>
                            {targetOptions(column).map(([value, label]) => (
                              <option key={value} value={value}>
                                {label}
                              </option>
                            ))}
                          </select>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <div className="row">
                <button type="button" className="button primary" onClick={() => void start()} disabled={running}>
                  {running ? 'Importing…' : 'Start import'}
                </button>
              </div>
            </>
          ) : null}
          {running && file ? (
            <div className="stack" role="status" aria-label="Import progress">
              <div className="meter" aria-hidden="true">
                <span style={{ width: `${progressPercent(progress?.bytesRead ?? 0, file.size)}%` }} />
              </div>
              <p className="small">
                {progress ? `${progressPercent(progress.bytesRead, file.size)}% of the file read · ${progress.rowsProcessed} rows done (${progress.rowsFailed} failed)` : 'Uploading…'}
              </p>
            </div>
          ) : null}
        </div>
      ) : null}
      {report ? <Report report={report} /> : null}
      <h2>Recent imports</h2>
      {recent.status === 'loading' ? <Spinner /> : null}
      {recent.status === 'error' ? <Alert>{recent.message}</Alert> : null}
      {recent.status === 'ready' && recent.data.imports.length === 0 ? <div className="empty">No imports yet.</div> : null}
      {recent.status === 'ready' && recent.data.imports.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Recent imports">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Rows
                </th>
                <th scope="col" className="num">
                  Failed
                </th>
                <th scope="col" className="hide-narrow">
                  Started
                </th>
                <th scope="col">
                  <span className="visually-hidden">Report</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {recent.data.imports.map((item) => (
                <tr key={item.id}>
                  <td>{item.filename ?? item.source}</td>
                  <td>{item.status}</td>
                  <td className="num">{item.rowsProcessed}</td>
                  <td className="num">{item.rowsFailed}</td>
                  <td className="hide-narrow">{formatDate(item.createdAt)}</td>
                  <td>
                    <button type="button" className="button small" onClick={() => setReport(item)}>
                      Show report
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
