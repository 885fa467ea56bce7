import { test } from 'node:test'
import request from 'supertest'
import { createServer, shouldSetCookie } from '../support/http.js'

test('a new session sets the cookie', async () => {
  await request(createServer(null)).get('/').expect(shouldSetCookie()).expect(200)
})
