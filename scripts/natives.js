#!/usr/bin/env node
// Builds the two native modules the SQLite store tests load (sqlite3, better-sqlite3) when their binding is
// missing. package.json's `allowScripts` keeps `npm install` from building them (npm 11's install-script policy;
// older npm builds them during the install and this finds nothing to do): installing this package from a git URL
// installs its devDependencies to run `prepare`, and a session middleware should not need a C++ toolchain or a
// download from GitHub for that. `npm test` runs this first; `node scripts/natives.js` does it by hand.
'use strict'
const { existsSync } = require('node:fs')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const root = path.join(__dirname, '..')

/** Each native module with the binding file its install script produces. */
const natives = [
  { name: 'sqlite3', binding: 'build/Release/node_sqlite3.node' },
  { name: 'better-sqlite3', binding: 'build/Release/better_sqlite3.node' },
]

/** Names of the installed native modules whose binding has not been built. */
function unbuilt() {
  return natives
    .filter(({ name, binding }) => {
      const dir = path.join(root, 'node_modules', name)
      return existsSync(path.join(dir, 'package.json')) && !existsSync(path.join(dir, binding))
    })
    .map(({ name }) => name)
}

/** Runs the install scripts of the unbuilt native modules (only those: `npm rebuild <names>`). Returns false when that failed. */
function buildNatives() {
  const names = unbuilt()
  if (names.length === 0) return true
  console.log(`building ${names.join(', ')} (native modules of the SQLite store tests)`)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  // The flag lifts the package.json denial for this rebuild of exactly these packages (npm 10 ignores it).
  const result = spawnSync(npm, ['rebuild', ...names, '--foreground-scripts', '--dangerously-allow-all-scripts'], {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  })
  const missing = unbuilt()
  if (result.status !== 0 || missing.length > 0) {
    console.error(`could not build ${missing.join(', ') || names.join(', ')}: the SQLite store tests will fail`)
    return false
  }
  return true
}

module.exports = { buildNatives }

if (require.main === module) process.exit(buildNatives() ? 0 : 1)
