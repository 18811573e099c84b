// Shared helpers for the Node client tests.
//
// The server under test is 127.0.0.1:$CINNABAR_PORT (clients/run.sh sets it,
// starting a server first when it is not given). Nothing here talks to any
// other address.
import { randomBytes } from 'node:crypto';

export const HOST = '127.0.0.1';

if (!process.env.CINNABAR_PORT) {
  throw new Error('CINNABAR_PORT is not set (run the tests through clients/run.sh)');
}
export const PORT = Number(process.env.CINNABAR_PORT);

/** A prefix unique to this process and call, so runs never share keys. */
export function uniq(label) {
  return `cinnabar-test:${label}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * Resolves/rejects like `promise`, but rejects after `ms` milliseconds with a
 * message naming `what`, so a missing event fails the test instead of hanging.
 */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A promise resolved once `predicate()` is true, checked each time `emitter`
 * emits one of `events` (and once right away). Event-driven, no polling.
 */
export function when(emitter, events, predicate) {
  return new Promise((resolve) => {
    const check = () => {
      if (predicate()) {
        for (const e of events) emitter.off(e, check);
        resolve();
      }
    };
    for (const e of events) emitter.on(e, check);
    check();
  });
}
