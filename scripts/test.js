#!/usr/bin/env node
// Runs every test/**/*.test.ts (or the files given) with node's test runner through tsx, under c8
// coverage of the built package mapped back to src/, then prints the closing "N passed, N failed" line.
// First builds the SQLite native modules if `npm install` left them unbuilt (scripts/natives.js says why).
'use strict'
const { readdirSync, readFileSync, mkdirSync, rmSync } = require('node:fs')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const { buildNatives } = require('./natives.js')

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

buildNatives()

const filter = process.argv.slice(2)
const files = filter.length ? filter : findTests(path.join(root, 'test'))
const resultsDir = path.join(root, '.tmp')
mkdirSync(resultsDir, { recursive: true })
const tap = path.join(resultsDir, `results-${process.pid}.tap`)
rmSync(tap, { force: true })

const c8 = require.resolve('c8/bin/c8.js')
const coverage = filter.length === 0
const args = [
  c8,
  '--reporter=text', '--reporter=text-summary',
  '--src=src', '--include=src/**', '--include=dist/**', '--exclude=**/*.d.ts',
  ...(coverage ? ['--check-coverage', '--lines=95', '--branches=90'] : []),
  process.execPath, '--import', 'tsx', '--test', '--test-concurrency=2',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`,
  ...files,
]
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env })

let passed = 0
let failed = 0
let skipped = 0
try {
  const text = readFileSync(tap, 'utf8')
  passed = Number(/^# pass (\d+)$/m.exec(text)?.[1] ?? 0)
  failed = Number(/^# fail (\d+)$/m.exec(text)?.[1] ?? 0) + Number(/^# cancelled (\d+)$/m.exec(text)?.[1] ?? 0)
  skipped = Number(/^# skipped (\d+)$/m.exec(text)?.[1] ?? 0)
} catch {
  failed = failed || 1
}
rmSync(tap, { force: true })
const status = result.status ?? 1
if (status !== 0 && failed === 0) console.log('coverage below the thresholds (95% lines, 90% branches) or the runner failed')
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''))
process.exit(status)
