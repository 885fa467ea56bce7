#!/usr/bin/env node
// Builds dist/ from src/ with the TypeScript compiler (CommonJS, an ESM re-export entry, declarations).
// `--clean` empties dist/ first.
'use strict'
const { rmSync } = require('node:fs')
const { execFileSync } = require('node:child_process')
const path = require('node:path')

const root = path.join(__dirname, '..')
if (process.argv.includes('--clean')) rmSync(path.join(root, 'dist'), { recursive: true, force: true })
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {
  stdio: 'inherit',
})
