/**
 * Typed session data: declare what your sessions hold once, and `req.session.<field>` is typed everywhere.
 *
 * Start: node --import tsx examples/typed-session-data.ts   (then open http://localhost:3000; PORT=4000 to change)
 * Type-check: npx tsc --noEmit --strict --module node16 --moduleResolution node16 --esModuleInterop --types node examples/typed-session-data.ts
 *
 * The fields are optional on `req.session` (a new session has none of them), so reading one gives
 * `T | undefined`, and assigning a value of the wrong type is a compile error.
 *
 * GET /cart                 the cart: { items, total, views }
 * POST /cart  {sku, qty}    adds to the cart (JSON body)
 * POST /login {name, role}  regenerates the session and stores the user
 * GET /admin                403 unless the user's role is 'admin'
 */
import express from 'express';
import session from 'express-session';

interface CartItem {
  sku: string;
  qty: number;
}

declare module 'express-session' {
  interface SessionData {
    views: number;
    cart: CartItem[];
    user: { name: string; role: 'admin' | 'customer' };
  }
}

const PRICES: Record<string, number> = { apple: 0.5, bread: 2.25, cheese: 4 };

const app = express();
app.use(express.json());
app.use(
  session({
    secret: process.env.SESSION_SECRET ?? 'typed session example secret',
    resave: false,
    saveUninitialized: false,
  }),
);

app.get('/cart', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1; // number | undefined -> number
  const items: CartItem[] = req.session.cart ?? [];
  const total = items.reduce((sum, item) => sum + (PRICES[item.sku] ?? 0) * item.qty, 0);
  res.json({ items, total, views: req.session.views });
});

app.post('/cart', (req, res) => {
  const { sku, qty } = (req.body ?? {}) as { sku?: unknown; qty?: unknown };
  if (typeof sku !== 'string' || !(sku in PRICES) || typeof qty !== 'number' || !Number.isInteger(qty) || qty < 1) {
    res.status(400).json({ error: `send {"sku": one of ${Object.keys(PRICES).join(', ')}, "qty": a positive integer}` });
    return;
  }
  const cart = (req.session.cart ??= []);
  const line = cart.find((item) => item.sku === sku);
  if (line) line.qty += qty;
  else cart.push({ sku, qty });
  res.status(201).json({ items: cart });
});

app.post('/login', (req, res, next) => {
  const { name, role } = (req.body ?? {}) as { name?: unknown; role?: unknown };
  if (typeof name !== 'string' || (role !== 'admin' && role !== 'customer')) {
    res.status(400).json({ error: 'send {"name": string, "role": "admin" | "customer"}' });
    return;
  }
  const cart = req.session.cart; // keep the cart across the log-in
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = { name, role };
    if (cart) req.session.cart = cart;
    res.json({ user: req.session.user });
  });
});

app.get('/admin', (req, res) => {
  const user = req.session.user; // { name, role } | undefined
  if (user?.role !== 'admin') {
    res.status(403).json({ error: 'admins only' });
    return;
  }
  res.json({ hello: user.name });
});

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST;
const onListening = (): void => {
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  console.log(`Typed session example listening on http://${host ?? 'localhost'}:${actualPort}`);
};
const server = host ? app.listen(port, host, onListening) : app.listen(port, onListening);
