// BullMQ end to end: a real Queue, Worker, QueueEvents and FlowProducer
// against the server at 127.0.0.1:$CINNABAR_PORT. BullMQ does nearly all of
// its work in Lua scripts (EVALSHA of ~40 scripts that use cmsgpack, cjson,
// redis.call/pcall, streams, sorted sets...), so this is a broad check of the
// scripting support. Every test checks results (return values, states,
// attempts, order), not only the absence of errors.
//
// Run: CINNABAR_PORT=6379 node --test bullmq.test.mjs   (or clients/run.sh)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, Worker, QueueEvents, FlowProducer, Job } from 'bullmq';
import { HOST, PORT, uniq, withTimeout, when } from './common.mjs';

// Workers need maxRetriesPerRequest: null (BullMQ insists on it for blocking
// connections); fail fast instead of reconnecting forever if the server dies.
const connection = {
  host: HOST,
  port: PORT,
  maxRetriesPerRequest: null,
  retryStrategy: (times) => (times > 5 ? null : 100),
};
// One prefix for the whole file: every key this file creates starts with it.
const prefix = uniq('bullmq');
const TEST_TIMEOUT = 30_000; // per test (node:test fails the test after this)
const WAIT = 15_000; // per awaited event inside a test

// Everything opened is closed at the end even if a test timed out midway,
// so the process always exits.
const opened = new Set();
after(async () => {
  await Promise.allSettled([...opened].map((c) => c.close()));
});
function track(c) {
  opened.add(c);
  return c;
}

/**
 * A queue named `label` with its QueueEvents and a Worker running `processor`.
 * Worker 'error' events (e.g. a script error outside a job) are collected in
 * `errors`; completions/failures are recorded in order.
 */
async function setup(label, processor, workerOpts = {}) {
  const name = `${label}-${Date.now()}`;
  const queue = track(new Queue(name, { connection, prefix }));
  const events = track(new QueueEvents(name, { connection, prefix }));
  const worker = track(new Worker(name, processor, { connection, prefix, ...workerOpts }));
  const errors = [];
  const completed = []; // [job.name, job.id, returnvalue] in completion order
  const failed = []; // [job.name, attemptsMade, failedReason] for every failed attempt
  worker.on('error', (err) => errors.push(err));
  worker.on('completed', (job, rv) => completed.push([job.name, job.id, rv]));
  worker.on('failed', (job, err) => failed.push([job?.name, job?.attemptsMade, err.message]));
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  if (workerOpts.autorun !== false) await worker.waitUntilReady();
  const close = async () => {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    for (const c of [worker, events, queue]) opened.delete(c);
  };
  return { name, queue, events, worker, errors, completed, failed, close };
}

/** Fails with the worker's own errors when it reported any. */
function assertNoWorkerErrors(errors) {
  assert.deepEqual(errors.map((e) => e.message), [], 'worker reported errors');
}

test('plain jobs complete with their return values', { timeout: TEST_TIMEOUT }, async () => {
  const s = await setup('plain', async (job) => ({ doubled: job.data.x * 2, name: job.name }));
  try {
    const jobs = await s.queue.addBulk(
      [1, 2, 3, 4, 5].map((x) => ({ name: `double-${x}`, data: { x } })),
    );
    const single = await s.queue.add('single', { x: 21 }, { jobId: 'custom-id' });
    assert.equal(single.id, 'custom-id');

    const results = await withTimeout(
      Promise.all([...jobs, single].map((j) => j.waitUntilFinished(s.events, WAIT))),
      WAIT,
      'plain jobs to finish',
    );
    assert.deepEqual(
      results.map((r) => r.doubled),
      [2, 4, 6, 8, 10, 42],
    );

    // The stored job agrees: state, return value, attempts.
    const stored = await Job.fromId(s.queue, 'custom-id');
    assert.equal(await stored.getState(), 'completed');
    assert.deepEqual(stored.returnvalue, { doubled: 42, name: 'single' });
    assert.equal(stored.attemptsMade, 1);
    assert.ok(stored.finishedOn >= stored.processedOn);

    const counts = await s.queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
    assert.deepEqual(counts, { completed: 6, failed: 0, waiting: 0, active: 0, delayed: 0 });
    const done = await s.queue.getCompleted();
    assert.equal(done.length, 6);

    // Adding a job with an existing id is a no-op that returns the old job.
    const dup = await s.queue.add('single', { x: 0 }, { jobId: 'custom-id' });
    assert.equal(dup.id, 'custom-id');
    assert.equal((await s.queue.getJobCounts('waiting')).waiting, 0);
    assertNoWorkerErrors(s.errors);
  } finally {
    await s.close();
  }
});

test('a job failing twice is retried with backoff, then completes', { timeout: TEST_TIMEOUT }, async () => {
  const s = await setup('retry', async (job) => {
    if (job.name === 'always-fails') throw new Error('permanent failure');
    // attemptsMade = attempts that already failed before this one.
    if (job.attemptsMade < 2) throw new Error(`transient failure #${job.attemptsMade + 1}`);
    return `ok after ${job.attemptsMade} failures`;
  });
  try {
    const flaky = await s.queue.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    const doomed = await s.queue.add('always-fails', {}, { attempts: 2, backoff: { type: 'exponential', delay: 50 } });

    const rv = await withTimeout(flaky.waitUntilFinished(s.events, WAIT), WAIT, 'flaky job');
    assert.equal(rv, 'ok after 2 failures');
    await assert.rejects(
      withTimeout(doomed.waitUntilFinished(s.events, WAIT), WAIT, 'failing job'),
      /permanent failure/,
    );

    const f = await Job.fromId(s.queue, flaky.id);
    assert.equal(await f.getState(), 'completed');
    assert.equal(f.returnvalue, 'ok after 2 failures');
    assert.equal(f.attemptsStarted, 3);
    assert.equal(f.attemptsMade, 3); // two failures and the success

    const d = await Job.fromId(s.queue, doomed.id);
    assert.equal(await d.getState(), 'failed');
    assert.equal(d.failedReason, 'permanent failure');
    assert.equal(d.attemptsMade, 2);
    assert.equal(d.stacktrace.length, 2); // one stack trace kept per failed attempt

    // The worker saw each failed attempt, in order. (Its 'failed' event may
    // come just after QueueEvents reported the final state, hence the wait.)
    const failures = (name) => s.failed.filter(([n]) => n === name).length;
    await withTimeout(when(s.worker, ['failed'], () => failures('always-fails') === 2), WAIT, "worker 'failed' events");
    assert.deepEqual(
      s.failed.filter(([n]) => n === 'flaky').map(([, , msg]) => msg),
      ['transient failure #1', 'transient failure #2'],
    );
    const counts = await s.queue.getJobCounts('completed', 'failed', 'delayed', 'waiting');
    assert.deepEqual(counts, { completed: 1, failed: 1, delayed: 0, waiting: 0 });

    // A failed job can be retried by hand; it runs (and fails) once more.
    await d.retry();
    await withTimeout(when(s.worker, ['failed'], () => failures('always-fails') === 3), WAIT, 'manual retry');
    assert.equal(await d.getState(), 'failed');
    assertNoWorkerErrors(s.errors);
  } finally {
    await s.close();
  }
});

test('a delayed job waits in the delayed set, then runs after an immediate one', { timeout: TEST_TIMEOUT }, async () => {
  const DELAY = 300;
  const order = [];
  const s = await setup('delayed', async (job) => {
    order.push(job.name);
    return `${job.name} done`;
  });
  try {
    const delayed = await s.queue.add('delayed', {}, { delay: DELAY });
    assert.equal(await delayed.getState(), 'delayed');
    assert.equal(await s.queue.getDelayedCount(), 1);
    const now = await s.queue.add('immediate', {});

    const [rvDelayed, rvNow] = await withTimeout(
      Promise.all([delayed.waitUntilFinished(s.events, WAIT), now.waitUntilFinished(s.events, WAIT)]),
      WAIT,
      'delayed and immediate jobs',
    );
    assert.equal(rvDelayed, 'delayed done');
    assert.equal(rvNow, 'immediate done');
    // The immediate job, added later, ran first.
    assert.deepEqual(order, ['immediate', 'delayed']);

    const d = await Job.fromId(s.queue, delayed.id);
    assert.equal(await d.getState(), 'completed');
    // Never processed before its delay was up.
    assert.ok(d.processedOn >= d.timestamp + DELAY, `processed ${d.processedOn - d.timestamp} ms after being added`);
    assert.equal(await s.queue.getDelayedCount(), 0);

    // A delayed job can be promoted to run right away.
    const later = await s.queue.add('promoted', {}, { delay: 60_000 });
    assert.equal(await later.getState(), 'delayed');
    await later.promote();
    assert.equal(await withTimeout(later.waitUntilFinished(s.events, WAIT), WAIT, 'promoted job'), 'promoted done');
    assertNoWorkerErrors(s.errors);
  } finally {
    await s.close();
  }
});

test('a job scheduler (every 300 ms, limit 3) runs exactly three iterations', { timeout: TEST_TIMEOUT }, async () => {
  const EVERY = 300;
  const LIMIT = 3;
  const s = await setup('repeat', async (job) => ({ iteration: job.data.n, key: job.repeatJobKey }));
  try {
    const schedulerId = 'tick';
    await s.queue.upsertJobScheduler(schedulerId, { every: EVERY, limit: LIMIT }, { name: 'tick', data: { n: 1 } });
    const schedulers = await s.queue.getJobSchedulers();
    assert.equal(schedulers.length, 1);
    assert.equal(schedulers[0].key, schedulerId);
    assert.equal(schedulers[0].every, EVERY);

    await withTimeout(
      when(s.worker, ['completed'], () => s.completed.length >= LIMIT),
      WAIT,
      `${LIMIT} scheduled iterations`,
    );
    const ticks = s.completed.filter(([n]) => n === 'tick');
    assert.equal(ticks.length, LIMIT);
    for (const [, , rv] of ticks) assert.equal(rv.key, schedulerId);
    // Each iteration is its own job "repeat:<scheduler>:<slot ms>", counted
    // 1..LIMIT, in slots `every` apart, and none ran before its slot.
    const jobs = await Promise.all(ticks.map(([, id]) => Job.fromId(s.queue, id)));
    assert.deepEqual(jobs.map((j) => j.opts.repeat.count), [1, 2, 3]);
    const slots = jobs.map((j) => Number(j.id.match(/^repeat:tick:(\d+)$/)?.[1]));
    for (let i = 1; i < LIMIT; i++) assert.equal(slots[i] - slots[i - 1], EVERY, `slots ${slots}`);
    for (let i = 0; i < LIMIT; i++) assert.ok(jobs[i].processedOn >= slots[i], `iteration ${i + 1} ran early`);

    // With the limit reached nothing else is scheduled; the scheduler stays
    // (with its iteration count) until removed.
    assert.equal(await s.queue.getDelayedCount(), 0);
    assert.equal(await s.queue.getWaitingCount(), 0);
    const [after] = await s.queue.getJobSchedulers();
    assert.equal(after.iterationCount, LIMIT);
    assert.equal(await s.queue.removeJobScheduler(schedulerId), true);
    assert.equal((await s.queue.getJobSchedulers()).length, 0);
    assertNoWorkerErrors(s.errors);
  } finally {
    await s.close();
  }
});

test('a flow: children run first, the parent reads their values', { timeout: TEST_TIMEOUT }, async () => {
  const order = [];
  const s = await setup(
    'flow',
    async (job) => {
      order.push(job.name);
      if (job.name === 'child') return job.data.v * 10;
      const values = await job.getChildrenValues();
      return { sum: Object.values(values).reduce((a, b) => a + b, 0), children: Object.keys(values).length };
    },
    { autorun: false }, // started once the flow is in place, so its initial states can be checked
  );
  const flows = track(new FlowProducer({ connection, prefix }));
  try {
    const tree = await flows.add({
      name: 'parent',
      queueName: s.name,
      data: {},
      children: [1, 2, 3].map((v) => ({ name: 'child', queueName: s.name, data: { v } })),
    });
    assert.equal(tree.children.length, 3);
    assert.equal(await tree.job.getState(), 'waiting-children');
    assert.deepEqual(await tree.job.getDependenciesCount(), { processed: 0, unprocessed: 3, ignored: 0, failed: 0 });

    s.worker.run(); // the worker loop; resolves when the worker is closed
    const rv = await withTimeout(tree.job.waitUntilFinished(s.events, WAIT), WAIT, 'flow parent');
    assert.deepEqual(rv, { sum: 60, children: 3 });
    assert.deepEqual(order, ['child', 'child', 'child', 'parent']);

    const parent = await Job.fromId(s.queue, tree.job.id);
    const values = await parent.getChildrenValues();
    assert.deepEqual(Object.values(values).sort((a, b) => a - b), [10, 20, 30]);
    // Children keys are "<prefix>:<queue>:<id>".
    for (const key of Object.keys(values)) assert.ok(key.startsWith(`${prefix}:${s.name}:`), key);
    const deps = await parent.getDependenciesCount();
    assert.equal(deps.processed, 3);
    assert.equal(deps.unprocessed, 0);
    assertNoWorkerErrors(s.errors);
  } finally {
    await flows.close();
    opened.delete(flows);
    await s.close();
  }
});

test('priorities: lower number first, FIFO within a priority', { timeout: TEST_TIMEOUT }, async () => {
  const order = [];
  const s = await setup('prio', async (job) => order.push(job.name), { autorun: false });
  try {
    await s.queue.add('p5-a', {}, { priority: 5 });
    await s.queue.add('p1', {}, { priority: 1 });
    await s.queue.add('p5-b', {}, { priority: 5 });
    await s.queue.add('p3', {}, { priority: 3 });
    await s.queue.add('no-priority', {});
    assert.equal(await s.queue.getPrioritizedCount(), 4);
    s.worker.run();
    await withTimeout(when(s.worker, ['completed'], () => order.length === 5), WAIT, '5 jobs');
    // Jobs without a priority go before prioritized ones.
    assert.deepEqual(order, ['no-priority', 'p1', 'p3', 'p5-a', 'p5-b']);
    assertNoWorkerErrors(s.errors);
  } finally {
    await s.close();
  }
});

test('queue management: pause/resume, data update, progress, logs, remove, drain, clean', { timeout: TEST_TIMEOUT }, async () => {
  const s = await setup('manage', async (job) => {
    await job.updateProgress(50);
    await job.log('halfway');
    await job.updateProgress({ done: true });
    return job.data;
  });
  const progress = [];
  s.events.on('progress', ({ jobId, data }) => progress.push([jobId, data]));
  try {
    await s.queue.pause();
    assert.equal(await s.queue.isPaused(), true);
    const removed = await s.queue.add('removed', { v: 1 });
    const updated = await s.queue.add('updated', { v: 2 });
    assert.equal(await s.queue.count(), 2); // waiting, not picked up while paused
    assert.equal(await updated.getState(), 'waiting');

    await updated.updateData({ v: 20 });
    await removed.remove();
    assert.equal(await Job.fromId(s.queue, removed.id), undefined);

    await s.queue.resume();
    assert.equal(await s.queue.isPaused(), false);
    const rv = await withTimeout(updated.waitUntilFinished(s.events, WAIT), WAIT, 'resumed job');
    assert.deepEqual(rv, { v: 20 });
    const done = await Job.fromId(s.queue, updated.id);
    assert.deepEqual(done.progress, { done: true });
    assert.deepEqual(await s.queue.getJobLogs(updated.id), { logs: ['halfway'], count: 1 });
    await withTimeout(when(s.events, ['progress'], () => progress.length >= 2), WAIT, 'progress events');
    assert.deepEqual(progress, [[updated.id, 50], [updated.id, { done: true }]]);

    // drain removes waiting (and, with true, delayed) jobs of a paused queue.
    await s.queue.pause();
    await s.queue.addBulk([{ name: 'w1' }, { name: 'w2' }]);
    await s.queue.add('d1', {}, { delay: 60_000 });
    assert.deepEqual(await s.queue.getJobCounts('waiting', 'delayed'), { waiting: 2, delayed: 1 });
    await s.queue.drain(true);
    assert.deepEqual(await s.queue.getJobCounts('waiting', 'delayed'), { waiting: 0, delayed: 0 });

    // clean removes finished jobs older than the grace period (0 ms: all).
    const cleaned = await s.queue.clean(0, 100, 'completed');
    assert.deepEqual(cleaned, [updated.id]);
    assert.equal(await s.queue.getCompletedCount(), 0);
    assertNoWorkerErrors(s.errors);
  } finally {
    await s.close();
  }
});

test('the rate limiter lets at most 2 jobs start per 600 ms', { timeout: TEST_TIMEOUT }, async () => {
  const MAX = 2;
  const DURATION = 600;
  const N = 6;
  let queue; // set below; the processor reads the limiter's TTL through it
  const ttls = [];
  const s = await setup(
    'limiter',
    async (job) => {
      // While the window is full, the limiter key has a TTL (ms) > 0.
      ttls.push(await queue.getRateLimitTtl(MAX));
      return job.data.i;
    },
    { limiter: { max: MAX, duration: DURATION }, autorun: false },
  );
  queue = s.queue;
  try {
    const jobs = await s.queue.addBulk(Array.from({ length: N }, (_, i) => ({ name: 'limited', data: { i } })));
    s.worker.run();
    const results = await withTimeout(
      Promise.all(jobs.map((j) => j.waitUntilFinished(s.events, WAIT))),
      WAIT,
      'rate-limited jobs',
    );
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5]);

    // Limiter engaged: any MAX+1 consecutive starts span at least one window.
    const stored = await Promise.all(jobs.map((j) => Job.fromId(s.queue, j.id)));
    const starts = stored.map((j) => j.processedOn).sort((a, b) => a - b);
    for (let i = MAX; i < starts.length; i++) {
      const gap = starts[i] - starts[i - MAX];
      assert.ok(gap >= DURATION - 25, `jobs ${i - MAX} and ${i} started ${gap} ms apart (limit ${MAX}/${DURATION} ms)`);
    }
    assert.ok(
      ttls.some((t) => t > 0 && t <= DURATION),
      `the limiter key never had a TTL while jobs ran: ${JSON.stringify(ttls)}`,
    );
    assert.deepEqual(await s.queue.getJobCounts('completed', 'waiting', 'delayed'), { completed: N, waiting: 0, delayed: 0 });
    assertNoWorkerErrors(s.errors);
  } finally {
    await s.close();
  }
});
