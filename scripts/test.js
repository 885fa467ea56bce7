#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner (through tsx), under c8 coverage of src/.
'use strict'
const { readdirSync } = require('node:fs')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const root = path.join(__dirname, '..')

function findTests(dir) {
  const found = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) found.push(...findTests(full))
    else if (entry.name.endsWith('.test.ts')) found.push(path.relative(root, full))
  }
  return found.sort()
}

const filter = process.argv.slice(2)
const files = filter.length ? filter : findTests(path.join(root, 'test'))
const c8 = require.resolve('c8/bin/c8.js')
const args = [
  c8,
  '--reporter=text-summary', '--reporter=text',
  '--include=dist/**', '--exclude=dist/**/*.d.ts',
  '--check-coverage', '--lines=95', '--branches=90',
  process.execPath, '--import', 'tsx', '--test', '--test-concurrency=2', ...files,
]
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env })
process.exit(result.status ?? 1)
