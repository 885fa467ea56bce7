/**
 * Smoke tests for the throwaway servers: each one starts, answers its real client library, and stops cleanly.
 *   node --import tsx --test test/support/servers.test.ts
 */
import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { createClient } from 'redis';
import * as mysql from 'mysql2/promise';
import {
  HOST,
  skipUnless,
  startRedis,
  startPostgres,
  startMariaDB,
  startMemcached,
  freePort,
  type ServerHandle,
} from './servers';

// pg and memcached ship no type declarations here; describe just what this test uses.
interface PgClientLike {
  connect(): Promise<void>;
  query(sql: string): Promise<{ rows: Array<Record<string, string>> }>;
  end(): Promise<void>;
}
interface MemcachedLike {
  set(key: string, value: string, lifetime: number, cb: (err?: unknown) => void): void;
  get(key: string, cb: (err: unknown, data: unknown) => void): void;
  end(): void;
}
const { Client: PgClient } = require('pg') as { Client: new (config: { connectionString: string }) => PgClientLike };
const Memcached = require('memcached') as new (location: string, options?: object) => MemcachedLike;

/** The server is gone: nothing listens on its port and the temp dir is removed. */
async function assertStopped(server: ServerHandle): Promise<void> {
  assert.equal(fs.existsSync(server.dir), false, `${server.dir} should be removed`);
  const refused = await new Promise<boolean>((resolve) => {
    const s = net.connect({ host: HOST, port: server.port });
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
  assert.ok(refused, `port ${server.port} should refuse connections after stop()`);
}

describe('redis-server', { skip: skipUnless('redis') }, () => {
  it('starts, answers the redis client, stops', async (t) => {
    const server = await startRedis();
    t.diagnostic(`redis started in ${server.startupMs} ms on ${server.url}`);
    try {
      const client = createClient({ url: server.url });
      await client.connect();
      await client.set('k', 'v');
      assert.equal(await client.get('k'), 'v');
      assert.deepEqual(await client.configGet('appendonly'), { appendonly: 'no' });
      await client.quit();
    } finally {
      await server.stop();
    }
    await assertStopped(server);
  });

  it('persist: data survives kill -9 + restart on the same port', async (t) => {
    const server = await startRedis({ persist: true });
    try {
      const port = server.port;
      const pid = server.pid;
      const client = createClient({ url: server.url, socket: { reconnectStrategy: false } });
      client.on('error', () => undefined);
      await client.connect();
      await client.set('survivor', 'yes');
      await server.kill();
      await client.disconnect().catch(() => undefined);
      await server.restart();
      t.diagnostic(`redis restarted in ${server.startupMs} ms`);
      assert.equal(server.port, port);
      assert.notEqual(server.pid, pid);
      const again = createClient({ url: server.url });
      await again.connect();
      assert.equal(await again.get('survivor'), 'yes');
      await again.quit();
    } finally {
      await server.stop();
    }
    await assertStopped(server);
  });

  it('a taken fixed port fails with the server log in the error', async () => {
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, HOST, resolve));
    try {
      await assert.rejects(startRedis({ port, timeoutMs: 5000 }), /Address already in use/);
    } finally {
      blocker.close();
    }
  });
});

describe('postgres', { skip: skipUnless('postgres') }, () => {
  it('starts, answers pg, stops', async (t) => {
    const server = await startPostgres();
    t.diagnostic(`postgres started in ${server.startupMs} ms on ${server.connectionString}`);
    try {
      const client = new PgClient({ connectionString: server.connectionString });
      await client.connect();
      const { rows } = await client.query('SELECT current_database() AS db, inet_server_addr()::text AS addr');
      assert.equal(rows[0].db, 'test');
      assert.match(rows[0].addr, /^127\.0\.0\.1/);
      await client.query('CREATE TABLE t (id int primary key, v text)');
      await client.query("INSERT INTO t VALUES (1, 'x')");
      assert.equal((await client.query('SELECT v FROM t')).rows[0].v, 'x');
      await client.end();
    } finally {
      await server.stop();
    }
    await assertStopped(server);
  });
});

describe('mariadb', { skip: skipUnless('mariadb') }, () => {
  it('starts, answers mysql2 with the created user over TCP, stops', async (t) => {
    const server = await startMariaDB();
    t.diagnostic(`mariadb started in ${server.startupMs} ms on ${server.url}`);
    try {
      const conn = await mysql.createConnection(server.connectionOptions);
      const [rows] = await conn.query('SELECT DATABASE() AS db, CURRENT_USER() AS u, VERSION() AS v');
      const row = (rows as Array<{ db: string; u: string; v: string }>)[0];
      assert.equal(row.db, 'test');
      assert.equal(row.u, 'test@%');
      assert.match(row.v, /MariaDB/);
      await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v TEXT)');
      await conn.query("INSERT INTO t VALUES (1, 'x')");
      await conn.end();
    } finally {
      await server.stop();
    }
    await assertStopped(server);
  });
});

describe('memcached', { skip: skipUnless('memcached') }, () => {
  it('starts, answers the memcached client, stops', async (t) => {
    const server = await startMemcached();
    t.diagnostic(`memcached started in ${server.startupMs} ms on ${server.location}`);
    try {
      const client = new Memcached(server.location, { retries: 0, timeout: 2000 });
      await new Promise<void>((resolve, reject) => client.set('k', 'v', 60, (err) => (err ? reject(err) : resolve())));
      const value = await new Promise<unknown>((resolve, reject) =>
        client.get('k', (err, data) => (err ? reject(err) : resolve(data))),
      );
      assert.equal(value, 'v');
      client.end();
    } finally {
      await server.stop();
    }
    await assertStopped(server);
  });
});

describe('all four at once', { skip: skipUnless('redis', 'postgres', 'mariadb', 'memcached') }, () => {
  const started: ServerHandle[] = [];
  after(async () => {
    await Promise.all(started.map((s) => s.stop()));
  });
  it('start in parallel on distinct ports', async (t) => {
    const t0 = Date.now();
    started.push(...(await Promise.all([startRedis(), startPostgres(), startMariaDB(), startMemcached()])));
    t.diagnostic(`all four started in parallel in ${Date.now() - t0} ms`);
    assert.equal(new Set(started.map((s) => s.port)).size, 4);
  });
});
