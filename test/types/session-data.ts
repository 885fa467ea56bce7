// req.session and req.sessionID in Express handlers, typed through `SessionData` augmentation
// (the @types/express-session idiom, with no @types/express-session installed).
import express from 'express'
import session from 'express-session'
import type { Cookie, Session, SessionData, Store } from 'express-session'
import { assertType, type Equal, type IsAny, typeOnly } from './helpers'

declare module 'express-session' {
  interface SessionData {
    views: number
    user?: { name: string; admin: boolean }
  }
}

/** What `req.session` is: the Session plus the (optional) data fields. */
type RequestSession = Session & Partial<SessionData>

typeOnly(() => {
  const app = express()
  app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false }))

  app.get('/', (req, res) => {
    assertType<Equal<typeof req.session, RequestSession>>()
    assertType<Equal<IsAny<typeof req.session>, false>>()
    assertType<Equal<typeof req.sessionID, string>>()
    assertType<Equal<typeof req.sessionStore, Store>>()

    // Augmented fields: optional on req.session, required on SessionData.
    assertType<Equal<typeof req.session.views, number | undefined>>()
    assertType<Equal<typeof req.session.user, { name: string; admin: boolean } | undefined>>()
    assertType<Equal<SessionData['views'], number>>()
    // The ESM-side augmentation (esm.mts) lands on the same interface.
    assertType<Equal<typeof req.session.cart, string[] | undefined>>()

    // The built-in members keep their types.
    assertType<Equal<typeof req.session.id, string>>()
    assertType<Equal<typeof req.session.cookie, Cookie>>()
    assertType<Equal<SessionData['cookie'], Cookie>>()

    req.session.views = (req.session.views ?? 0) + 1
    req.session.user = { name: 'ada', admin: false }
    if (req.session.user) {
      const name: string = req.session.user.name
      void name
    }

    // @ts-expect-error SessionData says views is a number
    req.session.views = 'many'
    // @ts-expect-error user has a name and an admin flag, nothing else
    req.session.user = { name: 'ada', admin: false, extra: 1 }
    // @ts-expect-error id is read-only
    req.session.id = 'other'
    // @ts-expect-error cookie.sameSite takes true, false, 'lax', 'strict' or 'none'
    req.session.cookie.sameSite = 'relaxed'

    res.json({ views: req.session.views })
  })

  // The same through a typed Request, as apps that annotate their handlers write it.
  const handler: express.RequestHandler = (req: express.Request, res: express.Response) => {
    assertType<Equal<typeof req.session.views, number | undefined>>()
    assertType<Equal<typeof req.sessionID, string>>()
    res.end()
  }
  app.use(handler)

  // A session created by the app's own code (e.g. in a store's createSession) has the same type.
  const stored: SessionData = { cookie: new session.Cookie(), views: 1 }
  // @ts-expect-error views is required on SessionData
  const missing: SessionData = { cookie: new session.Cookie() }
  void [stored, missing]
})
