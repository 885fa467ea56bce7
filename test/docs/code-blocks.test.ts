/**
 * Every fenced code block in README.md and docs/*.md is compiled or checked, and every relative link resolves.
 *
 * What is checked, by the block's language:
 *
 * - `js`/`javascript` and `ts`/`typescript`: each block is written out as a file into `.tmp/doc-blocks-XXXX/`
 *   (inside the repository, so `require('express-session')` resolves through node_modules to this package's
 *   dist/) and all of them are type-checked together by one `tsc --noEmit` (module node16, types node, strict,
 *   allowJs + checkJs, moduleDetection force: each file is a module of its own). A block with an `import` or
 *   `export` line is an ES module (.mjs/.mts, top-level `await` allowed), any other is CommonJS (.cjs/.cts).
 *   The files sit in a `test/` directory beside a stand-in store package (`index.d.ts`: a `MyStore` class), as a
 *   store author's tests do, so that the conformance examples' `require('../')` resolves. A package the blocks
 *   use that ships no types (and has no @types package) gets a shorthand `declare module 'name'`, as a
 *   TypeScript user of it would write.
 *   Being one program, the `declare module 'express-session'` augmentations of `SessionData` in README and docs
 *   merge, so they must agree with each other, and the JavaScript blocks are checked against the session fields
 *   they declare.
 * - `sh`/`bash`/`shell`: every `npm run X` (and `npm start`/`npm test`/...) names a script of package.json, any
 *   other `npm` command is one of npm's own (`install`, `ci`, `pack`), and every path mentioned (a word with a `/`
 *   or starting with `.`, not a URL or an option) exists in the repository. Comments (`# ...`) and leading
 *   `NAME=value` assignments are skipped.
 * - anything else (`text`, no language, ...): must be marked as output or illustration (below); it is not run.
 *
 * Markers: an HTML comment on the line right before the fence (blank lines between are allowed), invisible on
 * GitHub:
 *
 * - `<!-- doc-test: fragment -->` (js/ts only): the block uses names it does not define, such as `app`, `req`,
 *   `res`, `next`, `session`, `express`, `store`, `client`, `RedisStore`, `user`, `http2` (the full list is
 *   PRELUDE below, with their types). It is compiled as the body of an `async function` in a module that has
 *   those names, so its own declarations shadow them and it may use `await`. A fragment may not `import`,
 *   `export` or `declare module` (make such a block complete instead, which is preferred anyway whenever it costs
 *   a line or two).
 * - `<!-- doc-test: fails -->` (js/ts only): the block deliberately does not compile; the test asserts that tsc
 *   reports at least one error in it.
 * - `<!-- doc-test: output -->` (any other language): the block shows output or an illustration.
 *
 * Also: README.md has fewer than 500 lines, and every relative Markdown link and `#anchor` in README.md and
 * docs/*.md points at a file or directory inside the repository and, for an anchor, at a heading of the target
 * Markdown file (GitHub's slugs: lower case, punctuation dropped, spaces to hyphens, `-1`, `-2` for repeats).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBuilt, runNode } from '../support/node-process.js';

const root = path.join(__dirname, '..', '..');
const docsDir = path.join(root, 'docs');
const markdownFiles = [
  path.join(root, 'README.md'),
  ...readdirSync(docsDir)
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => path.join(docsDir, name)),
];

// ---------------------------------------------------------------------------------------------------------------
// Reading the Markdown
// ---------------------------------------------------------------------------------------------------------------

type Marker = 'fragment' | 'fails' | 'output';
const markers: readonly string[] = ['fragment', 'fails', 'output'];

interface Block {
  /** Repository-relative path of the Markdown file. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  marker: Marker | undefined;
  code: string;
}

const where = (block: { file: string; line: number }): string => `${block.file}:${block.line}`;

function readBlocks(file: string): Block[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const relative = path.relative(root, file);
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let end = i + 1;
    while (end < lines.length && !(lines[end].trim().startsWith(fence) && lines[end].trim().replace(/[`~]/g, '') === '')) {
      body.push(lines[end].startsWith(indent) ? lines[end].slice(indent.length) : lines[end]);
      end++;
    }
    assert.ok(end < lines.length, `${relative}:${i + 1}: code block never closed`);
    let previous = i - 1;
    while (previous >= 0 && lines[previous].trim() === '') previous--;
    const mark = previous >= 0 ? /^<!--\s*doc-test:\s*(\S+)\s*-->$/.exec(lines[previous].trim()) : null;
    if (mark) assert.ok(markers.includes(mark[1]), `${relative}:${previous + 1}: unknown marker "doc-test: ${mark[1]}" (known: ${markers.join(', ')})`);
    blocks.push({ file: relative, line: i + 1, lang: lang.toLowerCase(), marker: mark?.[1] as Marker | undefined, code: body.join('\n') });
    i = end;
  }
  return blocks;
}

/** The Markdown outside fenced blocks, with inline code spans blanked (links inside them are not links). */
function prose(file: string): { line: number; text: string }[] {
  const result: { line: number; text: string }[] = [];
  let fence: string | undefined;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      const open = /^ {0,3}(`{3,}|~{3,})/.exec(text);
      if (fence) {
        if (open && text.trim().startsWith(fence) && text.trim().replace(/[`~]/g, '') === '') fence = undefined;
        return;
      }
      if (open) {
        fence = open[1];
        return;
      }
      result.push({ line: index + 1, text: text.replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length)) });
    });
  return result;
}

/** GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseWithCode(file)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(text);
    if (!heading) continue;
    const base = slug(heading[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  return found;
}

/** Like prose(), but with inline code kept (headings' slugs include the text of their code spans). */
function proseWithCode(file: string): { line: number; text: string }[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  return prose(file).map(({ line }) => ({ line, text: lines[line - 1] }));
}

const allBlocks = markdownFiles.flatMap(readBlocks);
const isJs = (lang: string): boolean => lang === 'js' || lang === 'javascript';
const isTs = (lang: string): boolean => lang === 'ts' || lang === 'typescript';
const isShell = (lang: string): boolean => lang === 'sh' || lang === 'bash' || lang === 'shell';
const codeBlocks = allBlocks.filter((block) => isJs(block.lang) || isTs(block.lang));
const shellBlocks = allBlocks.filter((block) => isShell(block.lang) && block.marker !== 'output');
const otherBlocks = allBlocks.filter((block) => !codeBlocks.includes(block) && !shellBlocks.includes(block));

// ---------------------------------------------------------------------------------------------------------------
// README length and links
// ---------------------------------------------------------------------------------------------------------------

describe('README and docs/', () => {
  it('README.md has fewer than 500 lines', () => {
    const lines = readFileSync(path.join(root, 'README.md'), 'utf8').replace(/\n$/, '').split('\n').length;
    assert.ok(lines < 500, `README.md has ${lines} lines`);
  });

  it('every relative link and #anchor in README.md and docs/*.md resolves inside the repository', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const file of markdownFiles) {
      const relative = path.relative(root, file);
      for (const { line, text } of prose(file)) {
        const targets = [
          ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]),
          ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/g)].map((match) => match[1]),
        ];
        for (const target of targets) {
          if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
          checked++;
          const at = `${relative}:${line}: (${target})`;
          const [linkPath, anchor] = decodeURI(target).split('#', 2) as [string, string | undefined];
          const resolved = linkPath === '' ? file : path.resolve(path.dirname(file), linkPath);
          const inside = path.relative(root, resolved);
          if (inside.startsWith('..') || path.isAbsolute(inside)) {
            problems.push(`${at} points outside the repository`);
            continue;
          }
          if (!existsSync(resolved)) {
            problems.push(`${at}: ${inside} does not exist`);
            continue;
          }
          if (anchor === undefined) continue;
          if (!resolved.endsWith('.md') || !statSync(resolved).isFile()) problems.push(`${at}: an anchor into ${inside}, which is not Markdown`);
          else if (!anchors(resolved).has(anchor)) problems.push(`${at}: ${inside} has no heading with the anchor #${anchor}`);
        }
      }
    }
    assert.equal(problems.length, 0, problems.join('\n'));
    assert.ok(checked > 20, `only ${checked} relative links found: is the link parser broken?`);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Shell blocks and the rest
// ---------------------------------------------------------------------------------------------------------------

describe('shell and other code blocks', () => {
  const scripts: Record<string, string> = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).scripts;
  const npmOwnCommands = ['install', 'i', 'ci', 'pack'];
  const scriptAliases = ['start', 'test', 'stop', 'restart'];

  it(`every npm command and path in the ${shellBlocks.length} shell blocks exists`, () => {
    assert.ok(shellBlocks.length > 0, 'no shell block found');
    const problems: string[] = [];
    for (const block of shellBlocks) {
      const text = block.code.replace(/\\\n/g, ' ');
      text.split('\n').forEach((rawLine, index) => {
        const line = rawLine.replace(/(^|\s)#.*$/, '');
        const at = `${block.file}:${block.line + 1 + index}`;
        for (const command of line.split(/&&|\|\||;|\|/)) {
          const words = command.trim().split(/\s+/).filter(Boolean);
          while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) words.shift();
          if (words.length === 0) continue;
          if (words[0] === 'npm') {
            const [, sub, name] = words;
            if (sub === 'run' || sub === 'run-script') {
              if (!name || !(name in scripts)) problems.push(`${at}: npm run ${name}: package.json has no such script`);
            } else if (scriptAliases.includes(sub)) {
              if (!(sub in scripts)) problems.push(`${at}: npm ${sub}: package.json has no "${sub}" script`);
            } else if (!npmOwnCommands.includes(sub)) {
              problems.push(`${at}: npm ${sub}: neither a script alias nor one of ${npmOwnCommands.join(', ')}`);
            }
          }
          for (const word of words.slice(1)) {
            if (word.startsWith('-') || word.includes('://') || !(word.includes('/') || word.startsWith('.'))) continue;
            if (!existsSync(path.join(root, word))) problems.push(`${at}: ${word} does not exist`);
          }
        }
      });
    }
    assert.equal(problems.length, 0, problems.join('\n'));
  });

  it(`the ${otherBlocks.length} other blocks are marked as output or illustration, and no js/ts block is`, () => {
    const problems = [
      ...otherBlocks
        .filter((block) => block.marker !== 'output')
        .map((block) => `${where(block)}: a "${block.lang || '(no language)'}" block: give it js, ts or sh, or mark it <!-- doc-test: output -->`),
      ...codeBlocks
        .filter((block) => block.marker === 'output')
        .map((block) => `${where(block)}: a ${block.lang} block cannot be marked output: it is compiled (mark it fragment or fails)`),
      ...[...shellBlocks, ...otherBlocks]
        .filter((block) => block.marker === 'fragment' || block.marker === 'fails')
        .map((block) => `${where(block)}: "${block.marker}" is for js/ts blocks`),
    ];
    assert.equal(problems.length, 0, problems.join('\n'));
  });
});

// ---------------------------------------------------------------------------------------------------------------
// JavaScript and TypeScript blocks: one tsc run over all of them
// ---------------------------------------------------------------------------------------------------------------

/**
 * What a fragment can use without defining it. Compiled as `doc-prelude.cts` next to the blocks; a fragment
 * file starts with one line taking every name from it, then the fragment as the body of an async function.
 */
const PRELUDE = `
import type { Express, NextFunction, Request, Response } from 'express'
import expressModule = require('express')
import sessionModule = require('express-session')
import http2Module = require('node:http2')
import nodeTest = require('node:test')
import { RedisStore as RedisStoreClass } from 'connect-redis'
import { createClient } from 'redis'

export const express = expressModule
export const session = sessionModule
export const http2 = http2Module
export const RedisStore = RedisStoreClass
export declare const app: Express
export declare const req: Request
export declare const res: Response
export declare const next: NextFunction
export declare const store: sessionModule.Store
export declare const client: ReturnType<typeof createClient>
export declare const user: { id: string; name: string }
export declare function authenticate(credentials: unknown): Promise<{ id: string; name: string }>
export declare const idService: { next(): Promise<string> }
export declare const key: Buffer
export declare const cert: Buffer
export const { describe, it, before, after } = nodeTest
`;
const preludeNames = [...PRELUDE.matchAll(/^export (?:declare )?(?:const|function) (?:\{ ([^}]+) \}|(\w+))/gm)].flatMap(
  (match) => (match[1] ?? match[2]).split(',').map((name) => name.trim()),
);

/** The store package whose test/ directory the blocks sit in, for the store authors' `require('../')`. */
const STAND_IN_STORE = `import session = require('express-session')
interface MyStore extends session.Store {
  close(): Promise<void>
}
declare const MyStore: new (options: { url?: string; prefix?: string }) => MyStore
export = MyStore
`;

/** Packages the blocks load that ship no type declarations and have no @types package. */
function untypedPackages(blocks: readonly Block[]): string[] {
  const names = new Set<string>();
  for (const block of blocks) {
    for (const match of block.code.matchAll(/(?:require\(|from\s+|import\s+)'([^'./][^']*)'/g)) {
      const name = match[1].startsWith('@') ? match[1].split('/').slice(0, 2).join('/') : match[1].split('/')[0];
      if (name.startsWith('node:') || name === 'express-session') continue;
      const dir = path.join(root, 'node_modules', name);
      if (!existsSync(path.join(dir, 'package.json'))) continue; // not installed: tsc reports it
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
      const typed =
        manifest.types || manifest.typings || JSON.stringify(manifest.exports ?? {}).includes('"types"') ||
        existsSync(path.join(dir, 'index.d.ts')) ||
        existsSync(path.join(root, 'node_modules', '@types', name.startsWith('@') ? name.slice(1).replace('/', '__') : name));
      if (!typed) names.add(name);
    }
  }
  return [...names].sort();
}

interface CompiledBlock extends Block {
  fileName: string;
  /** Lines added before the block's first line. */
  offset: number;
}

describe('js and ts blocks', () => {
  let dir = '';
  let blocksDir = '';
  let keep = false;
  const setupProblems: string[] = [];
  const compiled: CompiledBlock[] = [];
  const fragments = codeBlocks.filter((block) => block.marker === 'fragment').length;

  before(() => {
    mkdirSync(path.join(root, '.tmp'), { recursive: true });
    dir = mkdtempSync(path.join(root, '.tmp', 'doc-blocks-'));
    blocksDir = path.join(dir, 'test');
    mkdirSync(blocksDir);
    writeFileSync(path.join(dir, 'index.d.ts'), STAND_IN_STORE);
    writeFileSync(path.join(blocksDir, 'doc-prelude.cts'), PRELUDE);
    writeFileSync(path.join(blocksDir, 'untyped-packages.d.ts'), untypedPackages(codeBlocks).map((name) => `declare module '${name}'\n`).join(''));
    for (const block of codeBlocks) {
      const ts = isTs(block.lang);
      const esm = /^\s*(import|export)\s(?!\s*\()/m.test(block.code);
      const base = `${block.file.replace(/\.md$/, '').replace(/[/\\]/g, '-')}-L${block.line}`;
      let text = block.code;
      let offset = 0;
      let extension = ts ? (esm ? '.mts' : '.cts') : esm ? '.mjs' : '.cjs';
      if (block.marker === 'fragment') {
        if (esm || /^\s*declare\s+module\b/m.test(block.code)) {
          setupProblems.push(`${where(block)}: a fragment may not import, export or declare module: make the block complete`);
        }
        extension = ts ? '.cts' : '.cjs';
        const names = preludeNames.join(', ');
        const header = ts ? `import { ${names} } from './doc-prelude.cjs'` : `const { ${names} } = require('./doc-prelude.cjs')`;
        text = `${header}\nexport async function fragment() {\n${block.code}\n}\n`;
        offset = 2;
      }
      const fileName = base + extension;
      writeFileSync(path.join(blocksDir, fileName), text.endsWith('\n') ? text : text + '\n');
      compiled.push({ ...block, fileName, offset });
    }
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify(
        {
          compilerOptions: {
            target: 'es2022',
            module: 'node16',
            moduleResolution: 'node16',
            lib: ['es2022'],
            types: ['node'],
            strict: true,
            allowJs: true,
            checkJs: true,
            moduleDetection: 'force',
            noEmit: true,
            skipLibCheck: true,
          },
          include: ['test'],
        },
        null,
        2,
      ),
    );
  });

  after(() => {
    if (keep) console.log(`# the compiled blocks are kept in ${path.relative(root, dir)}`);
    else if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`the ${codeBlocks.length} blocks (${codeBlocks.filter((b) => isJs(b.lang)).length} js, ${codeBlocks.filter((b) => isTs(b.lang)).length} ts; ${fragments} fragments) type-check together; blocks marked fails do not`, async () => {
    keep = true;
    assert.ok(codeBlocks.some((block) => block.file === 'README.md' && isJs(block.lang)), 'README.md has no js block: is the parser broken?');

    // The declarations checked against are the built ones.
    await ensureBuilt();

    const tsc = require.resolve('typescript/bin/tsc');
    const result = await runNode([tsc, '-p', path.join(dir, 'tsconfig.json'), '--pretty', 'false', '--listFiles']);
    const lines = result.output.split('\n').filter((line) => line.trim() !== '');

    // Diagnostics, each mapped back to its Markdown line.
    const errors = new Map<string, string[]>();
    const unplaced: string[] = [];
    let current: string[] | undefined;
    for (const line of lines) {
      const diagnostic = /^(.+?)\((\d+),(\d+)\): error (TS\d+: .*)$/.exec(line);
      if (diagnostic) {
        const [, file, row, column, message] = diagnostic;
        const block = compiled.find((entry) => path.join(blocksDir, entry.fileName) === path.resolve(root, file));
        const text = block ? `${block.file}:${block.line + Number(row) - block.offset}:${column} ${message}` : `${file}(${row},${column}) ${message}`;
        current = block ? (errors.get(block.fileName) ?? errors.set(block.fileName, []).get(block.fileName)!) : unplaced;
        current.push(text);
      } else if (/^\s/.test(line) && current) {
        current[current.length - 1] += `\n${line}`;
      } else if (!path.isAbsolute(line.trim())) {
        unplaced.push(line);
      }
    }

    const problems = [...setupProblems, ...unplaced];
    for (const block of compiled) {
      const found = errors.get(block.fileName) ?? [];
      if (block.marker === 'fails') {
        if (found.length === 0) problems.push(`${where(block)}: marked <!-- doc-test: fails --> but compiles`);
      } else {
        problems.push(...found);
      }
    }
    assert.equal(problems.length, 0, `tsc over ${path.relative(root, dir)} (exit ${result.code}):\n${problems.join('\n')}`);

    // Every block was part of the program, and 'express-session' resolved to this package's declarations.
    const listed = new Set(lines.filter((line) => path.isAbsolute(line.trim())).map((line) => path.resolve(line.trim())));
    for (const block of compiled) assert.ok(listed.has(path.join(blocksDir, block.fileName)), `${where(block)} was not compiled`);
    for (const file of ['index.d.ts', 'index.d.mts']) assert.ok(listed.has(path.join(root, 'dist', file)), `dist/${file} was not used`);
    keep = false;
  });
});
