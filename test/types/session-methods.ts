// Session methods in both forms: with a callback they return the session (`this`, for chaining, as in 1.x);
// without one they return Promise<void>. regenerate({ keepData }) and touch/resetMaxAge.
import express from 'express'
import session from 'express-session'
import type { Session, SessionData } from 'express-session'
import { assertType, type Equal, typeOnly } from './helpers'

type RequestSession = Session & Partial<SessionData>

typeOnly(() => {
  const app = express()
  app.use(session({ secret: 'x', resave: false, saveUninitialized: false }))

  app.post('/callbacks', (req, res, next) => {
    const callback = (err?: unknown): void => {
      if (err) next(err)
    }
    assertType<Equal<ReturnType<typeof req.session.touch>, RequestSession>>()
    const saved = req.session.save(callback)
    const reloaded = req.session.reload(callback)
    const destroyed = req.session.destroy(callback)
    const regenerated = req.session.regenerate(callback)
    const kept = req.session.regenerate({ keepData: true }, callback)
    const touched = req.session.touch()
    const reset = req.session.resetMaxAge()
    assertType<Equal<typeof saved, RequestSession>>()
    assertType<Equal<typeof reloaded, RequestSession>>()
    assertType<Equal<typeof destroyed, RequestSession>>()
    assertType<Equal<typeof regenerated, RequestSession>>()
    assertType<Equal<typeof kept, RequestSession>>()
    assertType<Equal<typeof touched, RequestSession>>()
    assertType<Equal<typeof reset, RequestSession>>()

    // Chaining, as 1.x code does.
    req.session.touch().save((err) => {
      // The callback's error is whatever the store passed (1.x typings: any).
      if (err) return next(err)
      res.redirect('/')
    })
  })

  app.post('/promises', async (req, res) => {
    const saved = req.session.save()
    const reloaded = req.session.reload()
    const destroyed = req.session.destroy()
    const regenerated = req.session.regenerate()
    const kept = req.session.regenerate({ keepData: true })
    const plain = req.session.regenerate({})
    assertType<Equal<typeof saved, Promise<void>>>()
    assertType<Equal<typeof reloaded, Promise<void>>>()
    assertType<Equal<typeof destroyed, Promise<void>>>()
    assertType<Equal<typeof regenerated, Promise<void>>>()
    assertType<Equal<typeof kept, Promise<void>>>()
    assertType<Equal<typeof plain, Promise<void>>>()

    await req.session.regenerate({ keepData: true })
    req.session.views = 1
    await req.session.save()
    res.redirect('/')
  })

  app.post('/wrong', (req) => {
    // @ts-expect-error keepData is a boolean
    void req.session.regenerate({ keepData: 'yes' })
    // @ts-expect-error regenerate takes no such option
    void req.session.regenerate({ keepCookie: true })
    // @ts-expect-error the callback comes after the options
    void req.session.regenerate(() => undefined, { keepData: true })
    // @ts-expect-error save() takes a callback, not options
    void req.session.save({ force: true })
  })

  // The Session class as users meet it.
  assertType<Equal<Session['id'], string>>()
  assertType<Equal<Session['req'], Express.Request>>()
  assertType<Equal<Session['cookie'], InstanceType<typeof session.Cookie>>>()
})

// The owner index: listOwnSessions and destroyOtherSessions, in both forms; the owner, track, header and
// touchAfter options; a store's sessionsOf and destroyOwner.
typeOnly(() => {
  const app = express()
  app.use(session({
    secret: 'x', resave: false, saveUninitialized: false,
    owner: (s) => (typeof s.id === 'string' ? undefined : undefined), track: true, header: 'x-session-id', cookie: false, touchAfter: 60_000,
  }))
  app.get('/devices', async (req, res, next) => {
    const sessions = await req.session.listOwnSessions({ limit: 10 })
    assertType<Equal<typeof sessions, session.OwnSession[]>>()
    const first: session.OwnSession | undefined = sessions[0]
    if (first) {
      assertType<Equal<typeof first.lastSeen, Date | undefined>>()
      assertType<Equal<typeof first.expires, Date | null>>()
      assertType<Equal<typeof first.current, boolean>>()
    }
    const destroyed = await req.session.destroyOtherSessions()
    assertType<Equal<typeof destroyed, number>>()
    const chained = req.session.listOwnSessions((err, list) => {
      if (err) return next(err)
      assertType<Equal<typeof list, session.OwnSession[] | undefined>>()
    })
    assertType<Equal<typeof chained, RequestSession>>()
    req.session.destroyOtherSessions((err, count) => {
      assertType<Equal<typeof count, number | undefined>>()
      res.json({ count, err })
    })
  })
  const store = new session.MemoryStore()
  store.sessionsOf('alice', (err, list) => {
    assertType<Equal<typeof list, session.OwnedSession[] | undefined>>()
  })
  store.destroyOwner('alice', { except: 'sid' }, (err, destroyed) => {
    assertType<Equal<typeof destroyed, number | undefined>>()
  })
  // @ts-expect-error -- owner names a user with a string
  session({ secret: 'x', owner: (s) => 42 })
})
