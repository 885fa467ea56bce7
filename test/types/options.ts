// session(options): every option's accepted values, the cookie as an object or a function of the request,
// genid returning a string or a Promise of one, and what must not compile.
import { randomUUID } from 'node:crypto'
import express from 'express'
import session from 'express-session'
import type { CookieOptions, SessionOptions } from 'express-session'
import { assertType, expectAssignable, type Equal, typeOnly } from './helpers'

typeOnly(() => {
  const app = express()
  const store = new session.MemoryStore()

  // Everything 1.19.0 accepts.
  app.use(
    session({
      secret: 'keyboard cat',
      name: 'sid',
      store,
      resave: false,
      saveUninitialized: false,
      rolling: true,
      proxy: true,
      unset: 'destroy',
      genid: () => randomUUID(),
      cookie: {
        domain: 'example.com',
        path: '/',
        httpOnly: true,
        secure: 'auto',
        sameSite: 'lax',
        maxAge: 60_000,
        partitioned: true,
        priority: 'high',
      },
    }),
  )
  app.use(session({ key: 'connect.sid', secret: Buffer.from('key') }))
  app.use(session({ secret: ['new', Buffer.from('old')] }))
  app.use(session({ cookie: { expires: new Date(), maxAge: null, secure: false } }))
  app.use(session())

  for (const sameSite of [true, false, 'lax', 'strict', 'none', 'auto'] as const) {
    expectAssignable<CookieOptions>({ sameSite })
  }
  for (const secure of [true, false, 'auto'] as const) expectAssignable<CookieOptions>({ secure })

  // cookie as a function of the request (1.19): typed from the request, or annotated with Express's Request.
  app.use(
    session({
      secret: 'x',
      cookie: (req) => {
        assertType<Equal<typeof req.sessionID, string>>()
        const host: string | undefined = req.headers.host
        return { domain: host, secure: 'auto', sameSite: 'auto', maxAge: 1000 }
      },
    }),
  )
  app.use(session({ secret: 'x', cookie: (req: express.Request) => ({ secure: req.secure, domain: req.hostname }) }))

  // genid: a string or a Promise of one, given the request.
  app.use(session({ secret: 'x', genid: (req) => `${req.headers['x-tenant'] ?? 'anon'}:${randomUUID()}` }))
  app.use(session({ secret: 'x', genid: async () => randomUUID() }))
  app.use(session({ secret: 'x', genid: () => Promise.resolve('id') }))
  type Genid = NonNullable<SessionOptions['genid']>
  assertType<Equal<ReturnType<Genid>, string | Promise<string>>>()

  // This package's additions.
  app.use(session({ secret: 'x', clearCookieOnDestroy: true, absoluteTimeout: 86_400_000, storeTimeout: 2000, storeErrors: 'continue' }))
  app.use(session({ secret: 'x', storeErrors: 'strict' }))

  // The middleware mounts on Express, and is a plain (req, res, next) function.
  const middleware = session({ secret: 'x' })
  app.use(middleware)
  expectAssignable<express.RequestHandler>(middleware)
  assertType<Equal<ReturnType<typeof middleware>, void>>()

  // What must not compile.
  // @ts-expect-error unknown option (a typo of secret)
  session({ secrte: 'x' })
  // @ts-expect-error sameSite is not a free string
  session({ secret: 'x', cookie: { sameSite: 'relaxed' } })
  // @ts-expect-error secure is a boolean or 'auto'
  session({ secret: 'x', cookie: { secure: 'yes' } })
  // @ts-expect-error priority is low, medium or high
  session({ secret: 'x', cookie: { priority: 'urgent' } })
  // @ts-expect-error maxAge is in milliseconds, a number
  session({ secret: 'x', cookie: { maxAge: '1d' } })
  // @ts-expect-error unset is 'destroy' or 'keep'
  session({ secret: 'x', unset: 'remove' })
  // @ts-expect-error a secret is a string, a Buffer or an array of them
  session({ secret: 42 })
  // @ts-expect-error resave is a boolean
  session({ secret: 'x', resave: 'false' })
  // @ts-expect-error genid returns a string
  session({ secret: 'x', genid: () => 42 })
  // @ts-expect-error genid's promise resolves to a string
  session({ secret: 'x', genid: async () => 42 })
  // @ts-expect-error the cookie function returns cookie options
  session({ secret: 'x', cookie: () => ({ sameSite: 'relaxed' }) })
  // @ts-expect-error unknown cookie option
  session({ secret: 'x', cookie: { sameSites: 'lax' } })
  // @ts-expect-error the store is a Store, not its options
  session({ secret: 'x', store: { host: 'localhost' } })
})
