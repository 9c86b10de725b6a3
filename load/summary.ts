/** Turns an Artillery JSON report into the markdown table docs/load.md keeps: per endpoint and in total. */

interface Summary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}
interface Report {
  aggregate: { counters: Record<string, number>; summaries: Record<string, Summary>; firstCounterAt?: number; lastCounterAt?: number };
}

const PREFIX = 'plugins.metrics-by-endpoint.';

export function summarize(report: Report, meta: { profile: string; machine: string; load: string; file: string }): string {
  const { counters, summaries } = report.aggregate;
  const endpoints = new Map<string, { requests: number; errors: number; latency?: Summary }>();
  const entry = (name: string) => {
    let e = endpoints.get(name);
    if (!e) endpoints.set(name, (e = { requests: 0, errors: 0 }));
    return e;
  };
  for (const [key, value] of Object.entries(counters)) {
    if (!key.startsWith(PREFIX)) continue;
    const rest = key.slice(PREFIX.length);
    const codes = /^(.*)\.codes\.(\d{3})$/.exec(rest);
    const errors = /^(.*)\.errors\.(.+)$/.exec(rest);
    if (codes) {
      const e = entry(codes[1]!);
      e.requests += value;
      if (Number(codes[2]) >= 400) e.errors += value;
    } else if (errors) {
      const e = entry(errors[1]!);
      e.requests += value;
      e.errors += value;
    }
  }
  for (const [key, value] of Object.entries(summaries)) {
    if (key.startsWith(`${PREFIX}response_time.`)) entry(key.slice(`${PREFIX}response_time.`.length)).latency = value;
  }
  const total = summaries['http.response_time'];
  const requests = counters['http.requests'] ?? 0;
  const failed = counters['vusers.failed'] ?? 0;
  const lines = [
    `### ${meta.profile} — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Machine: ${meta.machine}; load average ${meta.load}; results ${meta.file}. VUs created ${counters['vusers.created'] ?? 0}, failed ${failed}; responses ${counters['http.responses'] ?? 0} of ${requests} requests; errors ${((100 * failed) / Math.max(1, requests)).toFixed(2)} %.`,
    '',
    '| endpoint | requests | errors | p50 ms | p95 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [name, e] of [...endpoints.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    lines.push(`| ${name} | ${e.requests} | ${e.errors} | ${e.latency?.p50 ?? '–'} | ${e.latency?.p95 ?? '–'} | ${e.latency?.p99 ?? '–'} | ${e.latency?.max ?? '–'} |`);
  }
  lines.push(`| **all** | ${requests} | ${failed} | ${total?.p50 ?? '–'} | ${total?.p95 ?? '–'} | ${total?.p99 ?? '–'} | ${total?.max ?? '–'} |`);
  const other = Object.entries(counters).filter(([k]) => k.startsWith('errors.'));
  if (other.length > 0) lines.push('', `Errors by kind: ${other.map(([k, v]) => `${k.slice(7)} × ${v}`).join('; ')}`);
  return lines.join('\n');
}
