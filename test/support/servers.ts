/**
 * Throwaway real servers for tests: Redis, PostgreSQL, MariaDB, memcached.
 *
 * Every server listens on 127.0.0.1 only, on a random free port, keeps its data in a fresh temp dir under
 * os.tmpdir(), and is stopped (and its dir removed) by `stop()`, or at the latest when the test process exits.
 *
 * Missing binaries: locally the suite is skipped with one line; with CI=true a missing server is a failure.
 *
 *   import { describe, it, before, after } from 'node:test';
 *   import { skipUnless, startRedis, type RedisServer } from '../support/servers.js';
 *
 *   describe('connect-redis', { skip: skipUnless('redis') }, () => {
 *     let redis: RedisServer;
 *     before(async () => { redis = await startRedis(); });
 *     after(async () => { await redis?.stop(); });
 *     it('works', async () => { ... redis.url ... });
 *   });
 *
 * TEST_HIDE_SERVERS=redis,mariadb (comma list, also 'chromium') treats those as not installed.
 *
 * Linux only (uses process groups and /proc). When running as root, PostgreSQL, MariaDB and memcached are run as
 * their Debian system users (postgres / mysql / memcache, falling back to nobody), because they refuse to run as root.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, after } from 'node:test';

export const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

export type ServerName = 'redis' | 'postgres' | 'mariadb' | 'memcached';
/** Things a test can require: the servers plus the Chromium browser. */
export type Requirement = ServerName | 'chromium';

export interface ServerHandle {
  readonly name: ServerName;
  readonly host: string;
  /** TCP port on 127.0.0.1. Stays the same across kill()/restart(). */
  readonly port: number;
  /** A URL for the server (redis://, postgresql://, mysql://, memcache://). */
  readonly url: string;
  /** Temp dir holding data, sockets and the log. */
  readonly dir: string;
  readonly logFile: string;
  /** pid of the current server process (changes on restart()). */
  readonly pid: number;
  /** Milliseconds the last (re)start took, including initdb/install-db and setup. */
  readonly startupMs: number;
  /** Stop the server gracefully-ish, kill it after a few seconds, remove the temp dir (unless caller-owned). */
  stop(): Promise<void>;
  /** Hard-crash the server: SIGKILL its whole process group. The dir is kept; restart() brings it back. */
  kill(): Promise<void>;
  /** Start the server again on the same port with the same data dir (kills it first if still running). */
  restart(): Promise<void>;
  /** Last `lines` lines of the server log. */
  logTail(lines?: number): string;
}

export interface RedisServer extends ServerHandle {
  readonly name: 'redis';
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly persist: boolean;
}

export interface PostgresServer extends ServerHandle {
  readonly name: 'postgres';
  readonly user: string;
  /** Empty: trust authentication on 127.0.0.1. */
  readonly password: string;
  readonly database: string;
  /** postgresql://postgres@127.0.0.1:PORT/DATABASE : use as `new pg.Pool({ connectionString })`. */
  readonly connectionString: string;
  /** Directory of the unix socket (inside dir). */
  readonly socketDir: string;
}

export interface MariaDBServer extends ServerHandle {
  readonly name: 'mariadb';
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** root with empty password, reachable over TCP from 127.0.0.1. */
  readonly rootUser: string;
  readonly rootPassword: string;
  readonly socket: string;
  /** `{ host, port, user, password, database }` ready for mysql2.createPool / express-mysql-session. */
  readonly connectionOptions: { host: string; port: number; user: string; password: string; database: string };
}

export interface MemcachedServer extends ServerHandle {
  readonly name: 'memcached';
  /** '127.0.0.1:PORT' : what connect-memcached's `hosts` / the memcached client want. */
  readonly location: string;
}

export interface CommonOptions {
  /** Use this port instead of a random free one (no retry if it is taken). */
  port?: number;
  /** Extra command-line arguments for the server binary. */
  args?: string[];
  /** Startup timeout in ms (default 30000). */
  timeoutMs?: number;
}

export interface RedisOptions extends CommonOptions {
  /** Enable AOF with appendfsync=always so that kill() + restart() keeps the data. */
  persist?: boolean;
  /** Data dir to use (implies persistence across starts; the dir is NOT removed on stop()). */
  dir?: string;
}

export interface PostgresOptions extends CommonOptions {
  /** Database to create (default 'test'). */
  database?: string;
}

export interface MariaDBOptions extends CommonOptions {
  /** Database to create (default 'test'). */
  database?: string;
  /** User to create, with ALL PRIVILEGES on *.* (default 'test'). */
  user?: string;
  /** Password for that user (default 'test-password'). */
  password?: string;
}

export type MemcachedOptions = CommonOptions;

export interface ServerMap {
  redis: RedisServer;
  postgres: PostgresServer;
  mariadb: MariaDBServer;
  memcached: MemcachedServer;
}

export interface OptionsMap {
  redis: RedisOptions;
  postgres: PostgresOptions;
  mariadb: MariaDBOptions;
  memcached: MemcachedOptions;
}

// ---------------------------------------------------------------------------------------------------------------
// Binary discovery and the skip / fail-in-CI helpers
// ---------------------------------------------------------------------------------------------------------------

const EXTRA_BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Find an executable in PATH (plus the sbin dirs, which non-root PATHs often lack). */
export function findBinary(...names: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_BIN_DIRS];
  for (const name of names) {
    if (path.isAbsolute(name)) {
      if (isExecutable(name)) return name;
      continue;
    }
    for (const dir of dirs) {
      const file = path.join(dir, name);
      if (isExecutable(file)) return file;
    }
  }
  return undefined;
}

/** Directory with postgres, initdb, pg_isready, psql of one PostgreSQL version. */
function findPostgresBinDir(): string | undefined {
  const candidates: string[] = [];
  const fromPath = findBinary('postgres');
  if (fromPath) candidates.push(path.dirname(fs.realpathSync(fromPath)));
  try {
    const versions = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => parseFloat(b) - parseFloat(a));
    for (const v of versions) candidates.push(path.join('/usr/lib/postgresql', v, 'bin'));
  } catch {
    // no Debian postgresql dir
  }
  for (const dir of candidates) {
    if (['postgres', 'initdb', 'pg_isready', 'psql'].every((b) => isExecutable(path.join(dir, b)))) return dir;
  }
  return undefined;
}

interface Binaries {
  redis?: { server: string };
  memcached?: { server: string };
  postgres?: { postgres: string; initdb: string; pgIsready: string; psql: string };
  mariadb?: { server: string; installDb: string; client: string };
  chromium?: { browser: string };
}

const binaryCache: Binaries = {};
const looked = new Set<Requirement>();

/** TEST_HIDE_SERVERS=redis,postgres pretends those are not installed (to exercise the skip / CI-failure path). */
function hidden(name: Requirement): boolean {
  return (process.env.TEST_HIDE_SERVERS ?? '').split(',').map((s) => s.trim()).includes(name);
}

function binariesFor<R extends Requirement>(name: R): Binaries[R] {
  if (hidden(name)) return undefined;
  if (!looked.has(name)) {
    looked.add(name);
    switch (name) {
      case 'redis': {
        const server = findBinary('redis-server');
        if (server) binaryCache.redis = { server };
        break;
      }
      case 'memcached': {
        const server = findBinary('memcached');
        if (server) binaryCache.memcached = { server };
        break;
      }
      case 'postgres': {
        const dir = findPostgresBinDir();
        if (dir) {
          binaryCache.postgres = {
            postgres: path.join(dir, 'postgres'),
            initdb: path.join(dir, 'initdb'),
            pgIsready: path.join(dir, 'pg_isready'),
            psql: path.join(dir, 'psql'),
          };
        }
        break;
      }
      case 'mariadb': {
        const server = findBinary('mariadbd', 'mysqld');
        const installDb = findBinary('mariadb-install-db', 'mysql_install_db');
        const client = findBinary('mariadb', 'mysql');
        if (server && installDb && client) binaryCache.mariadb = { server, installDb, client };
        break;
      }
      case 'chromium': {
        const browser = findBinary('/usr/bin/chromium', 'chromium', 'chromium-browser');
        if (browser) binaryCache.chromium = { browser };
        break;
      }
    }
  }
  return binaryCache[name];
}

const MISSING_MESSAGE: Record<Requirement, string> = {
  redis: 'redis-server not installed',
  postgres: 'PostgreSQL (postgres, initdb, pg_isready, psql) not installed',
  mariadb: 'MariaDB (mariadbd, mariadb-install-db, mariadb client) not installed',
  memcached: 'memcached not installed',
  chromium: 'chromium not installed',
};

export function isCI(): boolean {
  return process.env.CI === 'true';
}

/** true when the binaries needed for `name` are installed. */
export function serverAvailable(name: Requirement): boolean {
  return binariesFor(name) !== undefined;
}

/** Why `name` cannot be used ('redis-server not installed'), or undefined when it can. Never throws. */
export function missingReason(name: Requirement): string | undefined {
  return serverAvailable(name) ? undefined : MISSING_MESSAGE[name];
}

function failInCI(reasons: string[]): never {
  throw new Error(`${reasons.join('; ')} (CI=true: a missing server is a failure, not a skip)`);
}

/**
 * For `describe(name, { skip: skipUnless('redis') }, fn)`: undefined when everything is installed, otherwise the
 * one-line skip reason. With CI=true a missing binary throws instead (the test file fails).
 */
export function skipUnless(...names: Requirement[]): string | undefined {
  const reasons = names.map(missingReason).filter((r): r is string => r !== undefined);
  if (reasons.length === 0) return undefined;
  if (isCI()) failInCI(reasons);
  return reasons.join('; ');
}

/** Like skipUnless() but throws (also locally) when missing: for code that cannot be skipped. */
export function requireServer(...names: Requirement[]): void {
  const reasons = names.map(missingReason).filter((r): r is string => r !== undefined);
  if (reasons.length > 0) failInCI(reasons);
}

/**
 * Inside a test: start the server, or skip the test (one line) when its binary is missing
 * (throws under CI=true). Remember to `await server.stop()`, e.g. via `t.after(() => server?.stop())`.
 *
 *   it('x', async (t) => { const redis = await serverOrSkip(t, 'redis'); if (!redis) return; ... });
 */
export async function serverOrSkip<N extends ServerName>(
  t: { skip(message?: string): void },
  name: N,
  options?: OptionsMap[N],
): Promise<ServerMap[N] | undefined> {
  const reason = skipUnless(name);
  if (reason !== undefined) {
    t.skip(reason);
    return undefined;
  }
  return startServer(name, options);
}

/**
 * Inside a describe() body: registers before()/after() hooks that start and stop the server, and returns a getter.
 * Pair it with `{ skip: skipUnless(name) }` on the describe.
 *
 *   describe('pg store', { skip: skipUnless('postgres') }, () => {
 *     const pg = useServer('postgres');
 *     it('x', async () => { new Pool({ connectionString: pg().connectionString }) ... });
 *   });
 */
export function useServer<N extends ServerName>(name: N, options?: OptionsMap[N]): () => ServerMap[N] {
  let server: ServerMap[N] | undefined;
  before(async () => {
    server = await startServer(name, options);
  });
  after(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error(`${name} server not started (is useServer() inside a describe whose before() ran?)`);
    return server;
  };
}

/** Path of the Chromium executable (for playwright-core's executablePath), or undefined. */
export function chromiumPath(): string | undefined {
  return binariesFor('chromium')?.browser;
}

/** Start any server by name. */
export function startServer<N extends ServerName>(name: N, options?: OptionsMap[N]): Promise<ServerMap[N]> {
  const starters: { [K in ServerName]: (o?: OptionsMap[K]) => Promise<ServerMap[K]> } = {
    redis: startRedis,
    postgres: startPostgres,
    mariadb: startMariaDB,
    memcached: startMemcached,
  };
  return (starters[name] as (o?: OptionsMap[N]) => Promise<ServerMap[N]>)(options);
}

// ---------------------------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen({ port: 0, host: HOST, exclusive: true }, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

interface RunUser {
  uid: number;
  gid: number;
  name: string;
}

function lookupUser(name: string): RunUser | undefined {
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length >= 4) return { name, uid: Number(f[2]), gid: Number(f[3]) };
    }
  } catch {
    // no /etc/passwd
  }
  return undefined;
}

/** When root: the first existing unprivileged user among `names` (then nobody). Otherwise undefined (run as us). */
function dropPrivilegesTo(...names: string[]): RunUser | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  for (const n of [...names, 'nobody']) {
    const u = lookupUser(n);
    if (u && u.uid !== 0) return u;
  }
  throw new Error(`running as root and none of the users ${[...names, 'nobody'].join(', ')} exists`);
}

function makeTempDir(name: string, owner: RunUser | undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `es-test-${name}-`));
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  return dir;
}

function tailOfFile(file: string, lines = 40): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return '(no log)';
  }
}

function readFrom(file: string, offset: number): string {
  try {
    return fs.readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

function appendLog(file: string, text: string): void {
  try {
    fs.appendFileSync(file, text);
  } catch {
    // ignore
  }
}

/** Run a helper program (initdb, psql, ...) to completion; output is appended to the log file. */
function runTool(
  file: string,
  args: string[],
  opts: { user?: RunUser; cwd: string; logFile: string; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        uid: opts.user?.uid,
        gid: opts.user?.gid,
        env: opts.env ?? childEnv(opts.cwd),
        timeout: opts.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        appendLog(opts.logFile, `\n$ ${file} ${args.join(' ')}\n${stdout}${stderr}`);
        if (error) {
          reject(
            new Error(
              `${path.basename(file)} failed (${error.message.split('\n')[0]})\n--- output ---\n` +
                `${String(stdout)}${String(stderr)}`.trimEnd(),
            ),
          );
        } else resolve(String(stdout));
      },
    );
  });
}

function childEnv(dir: string): NodeJS.ProcessEnv {
  // A clean-ish environment: no PG*/MYSQL* variables from the developer's shell leaking in.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(PG|MYSQL|MARIADB|REDIS)/.test(k)) continue;
    env[k] = v;
  }
  env.HOME = dir;
  env.LC_ALL = 'C';
  env.LANG = 'C';
  return env;
}

/** Open a TCP connection, optionally send `payload`, resolve true once `check(received)` is true. */
function probeTcp(port: number, payload: string | undefined, check: (data: Buffer) => boolean, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let buf = Buffer.alloc(0);
    const socket = net.connect({ host: HOST, port });
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => {
      if (payload !== undefined) socket.write(payload);
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (check(buf)) finish(true);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Process management and exit cleanup
// ---------------------------------------------------------------------------------------------------------------

interface ProcSpec {
  name: ServerName;
  bin: string;
  args: (port: number) => string[];
  user: RunUser | undefined;
  /** Signal used by stop() (the process gets a few seconds, then SIGKILL). */
  stopSignal: NodeJS.Signals;
  /** Signal used by the synchronous exit handler (SIGKILL unless a server needs to clean up, like postgres). */
  exitSignal: NodeJS.Signals;
  /** Resolves true once the server serves requests. */
  ready: (port: number) => Promise<boolean>;
}

class AddressInUseError extends Error {}

const live = new Set<ManagedProcess>();
let cleanupInstalled = false;

/** True if pid is gone or a zombie (an exited child not yet reaped by libuv). */
function isDeadSync(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Synchronous last-resort cleanup: used from process 'exit' and fatal signals. */
function cleanupAllSync(): void {
  const procs = [...live];
  live.clear();
  for (const p of procs) if (p.pid) killGroup(p.pid, p.spec.exitSignal);
  const deadline = Date.now() + 3000;
  for (const p of procs) {
    while (p.pid && !isDeadSync(p.pid) && Date.now() < deadline) sleepSync(20);
    if (p.pid) killGroup(p.pid, 'SIGKILL');
  }
  for (const p of procs) p.removeDirSync();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', cleanupAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      cleanupAllSync();
      process.removeListener(signal, handler);
      // Re-raise with the default behaviour unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

class ManagedProcess {
  child: ChildProcess | undefined;
  pid = 0;
  port = 0;
  startupMs = 0;

  constructor(
    readonly spec: ProcSpec,
    readonly dir: string,
    readonly logFile: string,
    readonly removeDir: boolean,
  ) {}

  /** Spawn on `port` and wait until ready. Throws AddressInUseError if the port was taken. */
  async start(port: number, timeoutMs: number): Promise<void> {
    installCleanup();
    this.port = port;
    const args = this.spec.args(port);
    appendLog(this.logFile, `\n=== ${new Date().toISOString()} starting: ${this.spec.bin} ${args.join(' ')}\n`);
    const logOffset = fs.existsSync(this.logFile) ? fs.statSync(this.logFile).size : 0;
    const fd = fs.openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.spec.bin, args, {
        cwd: this.dir,
        stdio: ['ignore', fd, fd],
        detached: true, // own process group: kill(-pid) takes helpers/backends along
        uid: this.spec.user?.uid,
        gid: this.spec.user?.gid,
        env: childEnv(this.dir),
      });
    } finally {
      fs.closeSync(fd);
    }
    let spawnError: Error | undefined;
    let onGone: (ok: false) => void = () => undefined;
    const gone = new Promise<false>((resolve) => (onGone = resolve));
    child.on('error', (err) => {
      spawnError = err;
      onGone(false);
    });
    child.on('exit', () => onGone(false));
    child.unref(); // a forgotten server must not keep the test process alive; 'exit' cleanup kills it
    this.child = child;
    this.pid = child.pid ?? 0;
    if (this.pid) live.add(this);

    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) {
        live.delete(this);
        await sleep(50); // let the log flush
        const tail = tailOfFile(this.logFile);
        const how = spawnError
          ? spawnError.message
          : `exited with ${child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`}`;
        const msg = `${this.spec.name} on ${HOST}:${port} ${how} during startup\n--- log tail (${this.logFile}) ---\n${tail}`;
        if (/address already in use/i.test(readFrom(this.logFile, logOffset))) throw new AddressInUseError(msg);
        throw new Error(msg);
      }
      if (await Promise.race([this.spec.ready(port), gone])) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(
          `${this.spec.name} on ${HOST}:${port} not accepting connections after ${timeoutMs} ms\n` +
            `--- log tail (${this.logFile}) ---\n${tailOfFile(this.logFile)}`,
        );
      }
      await sleep(50);
    }
  }

  /** Exit observed (and the child reaped) by node; waiting for this instead of /proc avoids leaving zombies. */
  private exited(): boolean {
    const c = this.child;
    return !c || c.exitCode !== null || c.signalCode !== null;
  }

  /** Send `signal` to the group, wait up to graceMs for the process to exit, then SIGKILL the group. */
  async terminate(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    if (!this.child || !this.pid) return;
    const pid = this.pid;
    if (!this.exited()) {
      killGroup(pid, signal);
      const deadline = Date.now() + graceMs;
      while (!this.exited() && Date.now() < deadline) await sleep(20);
    }
    killGroup(pid, 'SIGKILL'); // stragglers (backends, bgsave children)
    while (!this.exited()) await sleep(20);
    live.delete(this);
    this.child = undefined;
  }

  kill(): Promise<void> {
    return this.terminate('SIGKILL', 0);
  }

  async stop(): Promise<void> {
    await this.terminate(this.spec.stopSignal, 10_000);
    this.removeDirSync();
  }

  removeDirSync(): void {
    if (!this.removeDir) return;
    try {
      fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // best effort
    }
  }
}

/**
 * Start `spec` on a random free port (retrying on EADDRINUSE) or on `fixedPort`; on failure remove the dir.
 * `setup` runs once after the first successful start (create database, users, ...).
 */
async function launch(
  spec: ProcSpec,
  dir: string,
  removeDir: boolean,
  options: CommonOptions,
  setup?: (proc: ManagedProcess) => Promise<void>,
  t0 = Date.now(),
): Promise<ManagedProcess> {
  const proc = new ManagedProcess(spec, dir, path.join(dir, `${spec.name}.log`), removeDir);
  const timeoutMs = options.timeoutMs ?? 30_000;
  try {
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      try {
        await proc.start(port, timeoutMs);
        break;
      } catch (err) {
        if (err instanceof AddressInUseError && options.port === undefined && attempt < 5) continue;
        throw err;
      }
    }
    if (setup) await setup(proc);
    proc.startupMs = Date.now() - t0;
    return proc;
  } catch (err) {
    await proc.terminate('SIGKILL', 0).catch(() => undefined);
    proc.removeDirSync();
    throw err;
  }
}

function baseHandle(proc: ManagedProcess, url: (port: number) => string): ServerHandle {
  return {
    name: proc.spec.name,
    host: HOST,
    get port() {
      return proc.port;
    },
    get url() {
      return url(proc.port);
    },
    dir: proc.dir,
    logFile: proc.logFile,
    get pid() {
      return proc.pid;
    },
    get startupMs() {
      return proc.startupMs;
    },
    stop: () => proc.stop(),
    kill: () => proc.kill(),
    restart: async () => {
      await proc.kill();
      const t0 = Date.now();
      await proc.start(proc.port, 30_000);
      proc.startupMs = Date.now() - t0;
    },
    logTail: (lines?: number) => tailOfFile(proc.logFile, lines),
  };
}

/** Add `extra`'s properties (getters included, unlike a spread) to `base`. */
function extend<T>(base: ServerHandle, extra: object): T {
  return Object.defineProperties(base, Object.getOwnPropertyDescriptors(extra)) as unknown as T;
}

function need<R extends Requirement>(name: R): NonNullable<Binaries[R]> {
  const b = binariesFor(name);
  if (!b) throw new Error(MISSING_MESSAGE[name]);
  return b as NonNullable<Binaries[R]>;
}

// ---------------------------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------------------------

/** redis-server on 127.0.0.1:<random>. `{ persist: true }` (or `{ dir }`) keeps data across kill()/restart(). */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const t0 = Date.now();
  const { server } = need('redis');
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? makeTempDir('redis', undefined);
  if (!ownDir) fs.mkdirSync(dir, { recursive: true });
  const persist = Boolean(options.persist || options.dir);
  const persistence = persist
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--save', '']
    : ['--appendonly', 'no', '--save', ''];
  const spec: ProcSpec = {
    name: 'redis',
    bin: server,
    user: undefined,
    args: (port) => [
      '--port', String(port),
      '--bind', HOST,
      '--protected-mode', 'no',
      '--daemonize', 'no',
      '--dir', dir,
      '--logfile', '',
      '--databases', '16',
      ...persistence,
      ...(options.args ?? []),
    ],
    stopSignal: 'SIGTERM',
    exitSignal: 'SIGKILL',
    // +PONG only once loaded (while loading an AOF it answers -LOADING)
    ready: (port) => probeTcp(port, 'PING\r\n', (d) => d.toString('latin1').includes('\r\n') && d.toString('latin1').startsWith('+PONG')),
  };
  const proc = await launch(spec, dir, ownDir, options, undefined, t0);
  return extend<RedisServer>(baseHandle(proc, (port) => `redis://${HOST}:${port}`), { persist });
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------------------------

/** initdb into a temp dir, postgres on 127.0.0.1:<random> (trust auth), CREATE DATABASE test. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const t0 = Date.now();
  const bins = need('postgres');
  const user = dropPrivilegesTo('postgres');
  const dir = makeTempDir('postgres', user);
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const database = options.database ?? 'test';
  const dbUser = 'postgres';
  try {
    await runTool(
      bins.initdb,
      ['-D', dataDir, '-A', 'trust', '-U', dbUser, '--no-sync', '-E', 'UTF8', '--locale=C'],
      { user, cwd: dir, logFile },
    );
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const spec: ProcSpec = {
    name: 'postgres',
    bin: bins.postgres,
    user,
    args: (port) => [
      '-D', dataDir,
      '-p', String(port),
      '-c', `listen_addresses=${HOST}`,
      '-c', `unix_socket_directories=${dir}`,
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'shared_buffers=32MB',
      '-c', 'max_connections=100',
      ...(options.args ?? []),
    ],
    stopSignal: 'SIGINT', // fast shutdown: disconnect clients, exit
    exitSignal: 'SIGQUIT', // immediate shutdown, still releases shared memory (SIGKILL would leak SysV segments)
    ready: (port) =>
      runTool(bins.pgIsready, ['-q', '-h', HOST, '-p', String(port), '-U', dbUser, '-d', 'postgres', '-t', '1'], {
        cwd: dir,
        logFile: '/dev/null',
        timeoutMs: 5000,
      }).then(
        () => true,
        () => false,
      ),
  };
  const proc = await launch(
    spec,
    dir,
    true,
    options,
    async (p) => {
      await runTool(
        bins.psql,
        ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', HOST, '-p', String(p.port), '-U', dbUser, '-d', 'postgres',
          '-c', `CREATE DATABASE "${database}"`],
        { cwd: dir, logFile },
      );
    },
    t0,
  );
  const url = (port: number): string => `postgresql://${dbUser}@${HOST}:${port}/${database}`;
  return extend<PostgresServer>(baseHandle(proc, url), {
    user: dbUser,
    password: '',
    database,
    get connectionString() {
      return url(proc.port);
    },
    socketDir: dir,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// MariaDB
// ---------------------------------------------------------------------------------------------------------------

/** mariadb-install-db into a temp dir, mariadbd on 127.0.0.1:<random>, a database and a password user for TCP. */
export async function startMariaDB(options: MariaDBOptions = {}): Promise<MariaDBServer> {
  const t0 = Date.now();
  const bins = need('mariadb');
  const user = dropPrivilegesTo('mysql');
  const dir = makeTempDir('mariadb', user);
  const dataDir = path.join(dir, 'data');
  const socket = path.join(dir, 'mysqld.sock');
  const logFile = path.join(dir, 'mariadb.log');
  const database = options.database ?? 'test';
  const dbUser = options.user ?? 'test';
  const password = options.password ?? 'test-password';
  try {
    await runTool(
      bins.installDb,
      ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db',
        '--skip-name-resolve'],
      { user, cwd: dir, logFile },
    );
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const spec: ProcSpec = {
    name: 'mariadb',
    bin: bins.server,
    user,
    args: (port) => [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--port=${port}`,
      `--bind-address=${HOST}`,
      `--socket=${socket}`,
      `--pid-file=${path.join(dir, 'mysqld.pid')}`,
      `--tmpdir=${dir}`,
      '--skip-name-resolve',
      '--skip-log-bin',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      '--innodb-buffer-pool-size=32M',
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-doublewrite=0',
      '--innodb-use-native-aio=0', // io_setup() limits bite when many instances run in parallel
      '--performance-schema=OFF',
      ...(options.args ?? []),
    ],
    stopSignal: 'SIGTERM',
    exitSignal: 'SIGKILL',
    // The server greets with a handshake packet: protocol version 10 right after the 4-byte header.
    ready: (port) => probeTcp(port, undefined, (d) => d.length >= 5 && d[4] === 0x0a),
  };
  const q = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const proc = await launch(
    spec,
    dir,
    true,
    options,
    async (p) => {
      const sql = [
        `CREATE DATABASE IF NOT EXISTS \`${database}\``,
        `CREATE USER ${q(dbUser)}@'%' IDENTIFIED BY ${q(password)}`,
        `CREATE USER ${q(dbUser)}@'localhost' IDENTIFIED BY ${q(password)}`,
        `GRANT ALL PRIVILEGES ON *.* TO ${q(dbUser)}@'%'`,
        `GRANT ALL PRIVILEGES ON *.* TO ${q(dbUser)}@'localhost'`,
        'FLUSH PRIVILEGES',
      ].join(';\n');
      await runTool(
        bins.client,
        ['--no-defaults', '--protocol=TCP', `--host=${HOST}`, `--port=${p.port}`, '--user=root', '--connect-timeout=5',
          '-e', sql],
        { cwd: dir, logFile },
      );
    },
    t0,
  );
  const url = (port: number): string =>
    `mysql://${encodeURIComponent(dbUser)}:${encodeURIComponent(password)}@${HOST}:${port}/${database}`;
  return extend<MariaDBServer>(baseHandle(proc, url), {
    user: dbUser,
    password,
    database,
    rootUser: 'root',
    rootPassword: '',
    socket,
    get connectionOptions() {
      return { host: HOST, port: proc.port, user: dbUser, password, database };
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// memcached
// ---------------------------------------------------------------------------------------------------------------

/** memcached on 127.0.0.1:<random> (TCP only, 64 MB). */
export async function startMemcached(options: MemcachedOptions = {}): Promise<MemcachedServer> {
  const t0 = Date.now();
  const { server } = need('memcached');
  const user = dropPrivilegesTo('memcache');
  const dir = makeTempDir('memcached', user);
  const spec: ProcSpec = {
    name: 'memcached',
    bin: server,
    user,
    args: (port) => ['-l', HOST, '-p', String(port), '-U', '0', '-m', '64', '-c', '1024', '-t', '2', ...(options.args ?? [])],
    stopSignal: 'SIGKILL', // no state worth a graceful exit, and SIGTERM takes ~0.7 s
    exitSignal: 'SIGKILL',
    ready: (port) => probeTcp(port, 'version\r\n', (d) => d.toString('latin1').startsWith('VERSION ')),
  };
  const proc = await launch(spec, dir, true, options, undefined, t0);
  return extend<MemcachedServer>(baseHandle(proc, (port) => `memcache://${HOST}:${port}`), {
    get location() {
      return `${HOST}:${proc.port}`;
    },
  });
}
