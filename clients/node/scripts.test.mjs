// Client-side script helpers of the two main Node clients, against the server
// at 127.0.0.1:$CINNABAR_PORT:
//   - node-redis v4 `defineScript` (createClient({ scripts })): EVALSHA, with
//     EVAL when the server answers NOSCRIPT; also inside MULTI;
//   - ioredis `defineCommand`: EVAL on a connection's first use, then EVALSHA,
//     back to EVAL after NOSCRIPT (checked across SCRIPT FLUSH); pipelines;
//   - reply conversions and error replies as the clients see them;
//   - the cjson / cmsgpack / bit libraries and Redis 7 functions (FUNCTION
//     LOAD + FCALL), which job-queue libraries rely on.
//
// Note: SCRIPT FLUSH and FUNCTION DELETE act on the whole server; the tests
// use their own keys but do flush the script cache.
//
// Run: CINNABAR_PORT=6379 node --test scripts.test.mjs   (or clients/run.sh)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createClient, defineScript } from 'redis';
import Redis from 'ioredis';
import { HOST, PORT, uniq } from './common.mjs';

const TEST_TIMEOUT = 15_000;
const sha1 = (s) => createHash('sha1').update(s).digest('hex');

// Moves ARGV[1] units from KEYS[1] to KEYS[2]; refuses (error reply) when
// KEYS[1] holds less. Returns the new balance of KEYS[2].
const TRANSFER_LUA = `
local from = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
if from < amount then
  return redis.error_reply('INSUFFICIENT funds: ' .. from .. ' < ' .. amount)
end
redis.call('DECRBY', KEYS[1], amount)
return redis.call('INCRBY', KEYS[2], amount)
`;

// Lua values of each kind, as the RESP2 conversion rules turn them into replies.
const TYPES_LUA = `
redis.call('SET', KEYS[1], ARGV[1])
return {
  redis.call('GET', KEYS[1]),  -- bulk string
  42,                          -- integer
  3.99,                        -- number: truncated to integer 3
  {1, 'nested', {true}},       -- nested array; Lua true -> integer 1
  redis.status_reply('FINE'),  -- status reply
  false,                       -- Lua false -> nil
  'after-nil'
}
`;

const nodeRedis = createClient({
  socket: { host: HOST, port: PORT, reconnectStrategy: false },
  scripts: {
    transfer: defineScript({
      NUMBER_OF_KEYS: 2,
      SCRIPT: TRANSFER_LUA,
      transformArguments: (from, to, amount) => [from, to, amount.toString()],
      transformReply: (reply) => reply,
    }),
    luaTypes: defineScript({
      NUMBER_OF_KEYS: 1,
      SCRIPT: TYPES_LUA,
      transformArguments: (key, value) => [key, value],
      transformReply: (reply) => reply,
    }),
  },
});
nodeRedis.on('error', () => {}); // connection errors surface as rejected commands
await nodeRedis.connect();

const io = new Redis({ host: HOST, port: PORT, maxRetriesPerRequest: 1, retryStrategy: () => null });
io.defineCommand('transfer', { numberOfKeys: 2, lua: TRANSFER_LUA });
// numberOfKeys omitted: the caller passes it as the first argument.
io.defineCommand('sumKeys', {
  lua: `local s = 0 for i, k in ipairs(KEYS) do s = s + tonumber(redis.call('GET', k) or '0') end return s`,
});

after(async () => {
  await Promise.allSettled([nodeRedis.quit(), io.quit()]);
});

test('node-redis defineScript: results, error replies, fallback to EVAL after SCRIPT FLUSH', { timeout: TEST_TIMEOUT }, async () => {
  const p = uniq('node-redis');
  const [a, b] = [`${p}:a`, `${p}:b`];
  const sha = sha1(TRANSFER_LUA);

  await nodeRedis.set(a, '100');
  assert.equal(await nodeRedis.scriptFlush(), 'OK');
  assert.deepEqual(await nodeRedis.scriptExists(sha), [false]);
  // EVALSHA -> NOSCRIPT -> EVAL, which also caches the script.
  assert.equal(await nodeRedis.transfer(a, b, 30), 30);
  assert.deepEqual(await nodeRedis.scriptExists(sha), [true]);
  assert.equal(await nodeRedis.transfer(a, b, 50), 80); // now a plain EVALSHA
  assert.deepEqual(await nodeRedis.mGet([a, b]), ['20', '80']);

  // An error reply from the script rejects with its text, and changes nothing.
  await assert.rejects(nodeRedis.transfer(a, b, 21), { message: 'INSUFFICIENT funds: 20 < 21' });
  assert.deepEqual(await nodeRedis.mGet([a, b]), ['20', '80']);

  // Flushed again while the client believes it is cached: still works.
  await nodeRedis.scriptFlush();
  assert.equal(await nodeRedis.transfer(a, b, 20), 100);
  assert.deepEqual(await nodeRedis.mGet([a, b]), ['0', '100']);
  await nodeRedis.del([a, b]);
});

test('node-redis defineScript inside MULTI', { timeout: TEST_TIMEOUT }, async () => {
  const p = uniq('node-redis-multi');
  const [a, b] = [`${p}:a`, `${p}:b`];
  await nodeRedis.scriptFlush();
  const replies = await nodeRedis
    .multi()
    .set(a, '10')
    .transfer(a, b, 4)
    .transfer(a, b, 4)
    .get(a)
    .exec();
  assert.deepEqual(replies, ['OK', 4, 8, '2']);
  await nodeRedis.del([a, b]);
});

test('Lua values convert to the replies node-redis reads', { timeout: TEST_TIMEOUT }, async () => {
  const key = uniq('types');
  const reply = await nodeRedis.luaTypes(key, 'stored');
  assert.deepEqual(reply, ['stored', 42, 3, [1, 'nested', [1]], 'FINE', null, 'after-nil']);
  await nodeRedis.del(key);
});

test('ioredis defineCommand: results, and EVALSHA falls back to EVAL after SCRIPT FLUSH', { timeout: TEST_TIMEOUT }, async () => {
  const p = uniq('ioredis');
  const [a, b] = [`${p}:a`, `${p}:b`];
  const sha = sha1(TRANSFER_LUA);
  await io.set(a, '100');

  assert.equal(await io.transfer(a, b, 30), 30); // first use on this connection: EVAL
  assert.deepEqual(await io.script('EXISTS', sha), [1]); // EVAL cached it
  assert.equal(await io.transfer(a, b, 20), 50); // EVALSHA

  assert.equal(await io.script('FLUSH'), 'OK');
  assert.deepEqual(await io.script('EXISTS', sha), [0]);
  assert.equal(await io.transfer(a, b, 10), 60); // EVALSHA -> NOSCRIPT -> EVAL
  assert.deepEqual(await io.script('EXISTS', sha), [1]);
  assert.deepEqual(await io.mget(a, b), ['40', '60']);

  await assert.rejects(io.transfer(a, b, 41), { message: 'INSUFFICIENT funds: 40 < 41' });
  assert.deepEqual(await io.mget(a, b), ['40', '60']);

  // Dynamic key count.
  assert.equal(await io.sumKeys(2, a, b), 100);
  assert.equal(await io.sumKeys(0), 0);
  await io.del(a, b);
});

// ioredis resends a command that got NOSCRIPT after the rest of its pipeline,
// so pipelines are tested on fresh connections (EVAL first, then EVALSHA on
// the same socket), not across SCRIPT FLUSH.
test('ioredis defineCommand in a pipeline and in MULTI (fresh connections)', { timeout: TEST_TIMEOUT }, async () => {
  const p = uniq('ioredis-pipe');
  const [a, b] = [`${p}:a`, `${p}:b`];
  const fresh = () => {
    const c = new Redis({ host: HOST, port: PORT, maxRetriesPerRequest: 1, retryStrategy: () => null });
    c.defineCommand('transfer', { numberOfKeys: 2, lua: TRANSFER_LUA });
    return c;
  };
  const c1 = fresh();
  const c2 = fresh();
  try {
    await io.script('FLUSH');
    const piped = await c1.pipeline().set(a, '9').transfer(a, b, 3).transfer(a, b, 3).mget(a, b).exec();
    assert.deepEqual(piped, [[null, 'OK'], [null, 3], [null, 6], [null, ['3', '6']]]);

    const multi = await c2.multi().transfer(a, b, 1).transfer(a, b, 2).mget(a, b).exec();
    assert.deepEqual(multi, [[null, 7], [null, 9], [null, ['0', '9']]]);
  } finally {
    await Promise.allSettled([c1.quit(), c2.quit()]);
    await io.del(a, b);
  }
});

test('redis.call errors abort the script; redis.pcall returns them as a table', { timeout: TEST_TIMEOUT }, async () => {
  const key = uniq('errors');
  await io.set(key, 'not a number');
  await assert.rejects(
    io.eval(`return redis.call('INCR', KEYS[1])`, 1, key),
    /ERR value is not an integer or out of range/,
  );
  const caught = await io.eval(
    `local r = redis.pcall('INCR', KEYS[1])
     if type(r) == 'table' and r.err then return 'caught: ' .. r.err end
     return 'no error'`,
    1,
    key,
  );
  assert.equal(caught, 'caught: ERR value is not an integer or out of range');
  await assert.rejects(io.eval(`return redis.call('NO-SUCH-COMMAND')`, 0), /Unknown Redis command called from script/i);
  await io.del(key);
});

test('cjson, cmsgpack and bit are available to scripts', { timeout: TEST_TIMEOUT }, async () => {
  // cjson: decode, read a field, encode back.
  const json = await io.eval(
    `local t = cjson.decode(ARGV[1]); t.n = t.n + 1; return cjson.encode({n = t.n, name = t.name})`,
    0,
    JSON.stringify({ n: 41, name: 'cinnabar' }),
  );
  assert.deepEqual(JSON.parse(json), { n: 42, name: 'cinnabar' });
  // cmsgpack: pack in Lua, unpack again (as BullMQ does with job options).
  const roundTrip = await io.eval(
    `local packed = cmsgpack.pack({1, 2, 'three', {x = 4}})
     local t = cmsgpack.unpack(packed)
     return {t[1], t[2], t[3], t[4].x}`,
    0,
  );
  assert.deepEqual(roundTrip, [1, 2, 'three', 4]);
  // bit: the LuaBitOp library.
  assert.deepEqual(await io.eval(`return {bit.band(12, 10), bit.bor(12, 10), bit.bxor(12, 10), bit.lshift(1, 4)}`, 0), [8, 14, 6, 16]);
});

test('functions: FUNCTION LOAD, FCALL and FCALL_RO through node-redis', { timeout: TEST_TIMEOUT }, async () => {
  const lib = `cinnabar_test_${process.pid}`;
  const code = `#!lua name=${lib}
redis.register_function('${lib}_incr', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)
redis.register_function{function_name='${lib}_get', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}
`;
  const key = uniq('fn');
  try {
    assert.equal(await nodeRedis.functionLoad(code, { REPLACE: true }), lib);
    assert.equal(await nodeRedis.fCall(`${lib}_incr`, { keys: [key], arguments: ['5'] }), 5);
    assert.equal(await nodeRedis.fCall(`${lib}_incr`, { keys: [key], arguments: ['2'] }), 7);
    assert.equal(await nodeRedis.fCallRo(`${lib}_get`, { keys: [key], arguments: [] }), '7');
    // (node-redis 4's functionList(pattern) omits LIBRARYNAME, so no pattern.)
    const mine = (await nodeRedis.functionList()).filter((l) => l.libraryName === lib);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].engine, 'LUA');
    assert.deepEqual(mine[0].functions.map((f) => f.name).sort(), [`${lib}_get`, `${lib}_incr`]);
  } finally {
    await nodeRedis.functionDelete(lib).catch(() => {});
    await nodeRedis.del(key);
  }
});
