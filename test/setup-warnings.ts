/**
 * Runs in every test file's process (vitest setupFiles): a node-postgres deprecation (for example
 * "Calling client.query() when the client is already executing a query", which pg@9 turns into an
 * error) fails the test that caused it, or the file when it surfaced after the tests, with the
 * stack of the call that caused it.
 */
import { afterAll, afterEach } from 'vitest';

const seen: Error[] = [];

process.on('warning', (warning) => {
  if (warning.name === 'DeprecationWarning' && warning.message.includes('pg@9.0')) seen.push(warning);
});

function failOnSeen(): void {
  const warnings = seen.splice(0);
  if (warnings.length > 0) throw new Error(`node-postgres deprecation:\n${warnings.map((w) => w.stack ?? w.message).join('\n')}`);
}

// The warning is emitted on the next tick after the offending call: let it arrive first.
afterEach(async () => {
  await new Promise((resolve) => setImmediate(resolve));
  failOnSeen();
});
afterAll(async () => {
  await new Promise((resolve) => setImmediate(resolve));
  failOnSeen();
});
