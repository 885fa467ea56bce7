/**
 * Starts two scale-out servers (instances "a" and "b") sharing one Redis, and stops both on Ctrl-C.
 *
 * Start: REDIS_URL=redis://127.0.0.1:6379 node examples/scale-out/start.js
 *        (a on http://localhost:3001, b on http://localhost:3002; PORT_A / PORT_B to change, 0 for free ports)
 *
 * Then visit both URLs in one browser: the view count goes up across them, and `seenBy` lists both instances.
 * Put any load balancer in front of the two ports: no sticky sessions needed.
 */
'use strict'

const { spawn } = require('node:child_process')
const path = require('node:path')

const server = path.join(__dirname, 'server.js')
const instances = [
  { name: 'a', port: process.env.PORT_A || '3001' },
  { name: 'b', port: process.env.PORT_B || '3002' }
]

const children = instances.map(({ name, port }) =>
  spawn(process.execPath, [server], {
    env: { ...process.env, INSTANCE: name, PORT: port },
    stdio: 'inherit' // each line of output is prefixed with [a] or [b] by server.js
  })
)

let stopping = false
function stopAll (code) {
  if (stopping) return
  stopping = true
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  Promise.all(children.map((child) => child.exitCode !== null || child.signalCode !== null
    ? null
    : new Promise((resolve) => child.once('exit', resolve))))
    .then(() => process.exit(code))
}

for (const child of children) {
  // If one instance dies, stop the other too: a half-running pair is confusing.
  child.once('exit', (code) => stopAll(code === 0 ? 0 : 1))
}
process.on('SIGINT', () => stopAll(0))
process.on('SIGTERM', () => stopAll(0))
