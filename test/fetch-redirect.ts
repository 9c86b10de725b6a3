/**
 * Test support for process tests, loaded with `node --import`: sends the production process's
 * calls to a provider API (fetch) to a local server instead, as a DNS entry would. The rules come
 * from UNITE_TEST_FETCH_REDIRECT, `https://api.postmarkapp.com=http://127.0.0.1:4100` (comma-separated).
 */
const rules = (process.env.UNITE_TEST_FETCH_REDIRECT ?? '')
  .split(',')
  .filter((rule) => rule.includes('='))
  .map((rule) => rule.split('=') as [string, string]);
const original = globalThis.fetch;

globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const rule = rules.find(([from]) => url.startsWith(from));
  return original(rule ? `${rule[1]}${url.slice(rule[0].length)}` : input, init);
};
