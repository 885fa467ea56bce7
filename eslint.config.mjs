// Lint of src/: typescript-eslint's strict type-checked rules, and the layers of the package kept apart.
//
// Layers, each importing only from the ones before it:
//   src/lib (leaves: signing, IDs, Set-Cookie, store calls, debug, diagnostics)
//   -> src/core (Cookie, Session, Store, AsyncStore)
//   -> src/middleware
//   -> src/memory-store.ts, src/redis-store.ts, src/conformance, src/index.ts, src/redis.ts (the entry point supplies the MemoryStore as the default store)
// src/types.ts holds the shared type shapes (type-only imports, erased at runtime).
import tseslint from 'typescript-eslint'
import importX from 'eslint-plugin-import-x'
import eslintComments from '@eslint-community/eslint-plugin-eslint-comments'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'

const TOP = ['./src/memory-store.ts', './src/redis-store.ts', './src/redis.ts', './src/redis.mts', './src/conformance', './src/index.ts', './src/index.mts']

export default tseslint.config(
  { ignores: ['dist/**', 'coverage/**', 'node_modules/**', '.tmp/**'] },
  {
    files: ['src/**/*.ts', 'src/**/*.mts'],
    extends: [...tseslint.configs.strictTypeChecked],
    plugins: { 'import-x': importX, '@eslint-community/eslint-comments': eslintComments },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    settings: {
      // parse imported .ts files with the TypeScript parser, so that no-cycle can follow them
      'import-x/extensions': ['.ts', '.mts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // every eslint-disable says why, after ` -- `
      '@eslint-community/eslint-comments/require-description': ['error', { ignore: ['eslint-enable'] }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', {
        zones: [
          { target: './src/lib', from: ['./src/core', './src/middleware', ...TOP],
            message: 'src/lib holds the leaves: it imports no other layer.' },
          { target: './src/core', from: ['./src/middleware', ...TOP.filter((p) => p !== './src/index.ts')],
            message: 'The core knows only the Store interface: no middleware, no MemoryStore, no entry point.' },
          { target: './src/middleware', from: TOP,
            message: 'The middleware knows only the Store interface: the entry point supplies the MemoryStore.' },
        ],
      }],
      // The core may name the entry point's augmentable SessionData type, never import its values.
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [{ group: ['../index.js'], allowTypeImports: true,
          message: 'Only a type may come from the entry point into a lower layer.' }],
      }],
      // numbers in messages are fine
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `return callback(err)` in a function returning void is the Node callback idiom
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true }],
    },
  },
)
