/**
 * A custom session store, in TypeScript: `class MapStore extends session.Store`, keeping sessions in a Map.
 *
 * Start: node --import tsx examples/custom-store.ts   (then open http://localhost:3000; PORT=4000 to change)
 *
 * A store needs `get`, `set` and `destroy`; `touch` is optional but lets `resave: false` work well (the
 * session's expiry is pushed back without rewriting it). Methods call back with `(err, result)`.
 * This one stores sessions as JSON (like a real database would: nothing shares objects with the app)
 * and drops them once their cookie has expired.
 *
 * GET /            counts views
 * GET /store       what the store holds: { count, sessions: [{ id, views, expiresInSeconds }] }
 * POST /logout     destroys the session (removes it from the Map)
 */
import express from 'express';
import session from 'express-session';

interface StoredEntry {
  json: string;
  /** Epoch ms after which the entry is gone; Infinity for sessions without maxAge. */
  expires: number;
}

type Callback<T = void> = (err: Error | null, value?: T) => void;

const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;

class MapStore extends session.Store {
  private readonly sessions = new Map<string, StoredEntry>();

  /** When a session expires: its cookie's expiry, or a day from now for browser-session cookies. */
  private expiryOf(data: session.SessionData): number {
    const expires = data.cookie?.expires;
    return expires ? new Date(expires).getTime() : Date.now() + DEFAULT_TTL_MS;
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    const entry = this.sessions.get(sid);
    if (!entry) return callback(null, null);
    if (entry.expires <= Date.now()) {
      this.sessions.delete(sid);
      return callback(null, null);
    }
    let data: session.SessionData;
    try {
      data = JSON.parse(entry.json) as session.SessionData;
    } catch (err) {
      return callback(err as Error);
    }
    callback(null, data);
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    this.sessions.set(sid, { json: JSON.stringify(data), expires: this.expiryOf(data) });
    callback?.(null);
  }

  override destroy(sid: string, callback?: Callback): void {
    this.sessions.delete(sid);
    callback?.(null);
  }

  override touch(sid: string, data: session.SessionData, callback?: Callback): void {
    const entry = this.sessions.get(sid);
    if (entry) entry.expires = this.expiryOf(data);
    callback?.(null);
  }

  /** Not part of the contract: a read-only view for the /store page. */
  entries(): Array<{ id: string; data: session.SessionData; expires: number }> {
    const now = Date.now();
    return [...this.sessions]
      .filter(([, entry]) => entry.expires > now)
      .map(([id, entry]) => ({ id, data: JSON.parse(entry.json) as session.SessionData, expires: entry.expires }));
  }
}

declare module 'express-session' {
  interface SessionData {
    views: number;
  }
}

const store = new MapStore();
const app = express();

app.use(
  session({
    store,
    secret: process.env.SESSION_SECRET ?? 'custom store example secret',
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 30 * 60 * 1000 },
  }),
);

app.get('/', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.type('text').send(`views: ${req.session.views}\n`);
});

app.get('/store', (_req, res) => {
  const entries = store.entries();
  res.json({
    count: entries.length,
    sessions: entries.map(({ id, data, expires }) => ({
      id,
      views: data.views,
      expiresInSeconds: Math.round((expires - Date.now()) / 1000),
    })),
  });
});

app.post('/logout', (req, res, next) => {
  req.session.destroy((err) => {
    if (err) return next(err);
    res.type('text').send('logged out\n');
  });
});

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST;
const onListening = (): void => {
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  console.log(`Custom store example listening on http://${host ?? 'localhost'}:${actualPort}`);
};
const server = host ? app.listen(port, host, onListening) : app.listen(port, onListening);
