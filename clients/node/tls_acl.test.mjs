// node-redis over TLS (client certificate) as a restricted ACL user.
// clients/run.sh starts the server with a TLS port and a CA it made; the
// test is skipped against an external server (CINNABAR_TLS_PORT unset).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createClient } from 'redis';
import { HOST, PORT, uniq } from './common.mjs';

const TLS_PORT = process.env.CINNABAR_TLS_PORT;
const TLS_DIR = process.env.CINNABAR_TLS_DIR;

test('node-redis over TLS as a queue user', { skip: !TLS_PORT }, async () => {
  const admin = createClient({ socket: { host: HOST, port: PORT } });
  await admin.connect();
  const user = uniq('nodeuser').replaceAll(':', '-');
  const prefix = uniq('q');
  await admin.sendCommand(['ACL', 'SETUSER', user, 'on', '>s3cret', 'resetchannels',
    `~${prefix}:*`, `&${prefix}.*`, '-@all', '+@list', '+ping', '+publish', '+hello', '+auth']);
  try {
    const c = createClient({
      username: user,
      password: 's3cret',
      socket: {
        host: HOST,
        port: Number(TLS_PORT),
        tls: true,
        ca: readFileSync(`${TLS_DIR}/ca.crt`),
        cert: readFileSync(`${TLS_DIR}/client.crt`),
        key: readFileSync(`${TLS_DIR}/client.key`),
        rejectUnauthorized: true,
        servername: 'localhost',
      },
    });
    c.on('error', () => {});
    await c.connect();
    assert.equal(await c.ping(), 'PONG');
    assert.equal(await c.lPush(`${prefix}:jobs`, ['a', 'b']), 2);
    assert.deepEqual(await c.brPop(`${prefix}:jobs`, 1), { key: `${prefix}:jobs`, element: 'a' });
    await assert.rejects(c.lPush('elsewhere', 'x'), /NOPERM/);
    await assert.rejects(c.get(`${prefix}:jobs`), /NOPERM.*'get'/);
    assert.equal(await c.publish(`${prefix}.news`, 'hi'), 0);
    await c.quit();
  } finally {
    await admin.sendCommand(['ACL', 'DELUSER', user]);
    await admin.quit();
  }
});
