/**
 * `npm run fuzz`: the long property-based run of the cookie and signature path (see cookie-properties.ts).
 *
 *   npm run fuzz                                     # 1,000,000 cases in process + 100,000 over HTTP
 *   node --import tsx test/cookie/fuzz.ts --runs 200000 --wire 20000 --workers 2 --seed 42
 *
 * The in-process cases are split over worker processes (one per CPU by default), in chunks of 50,000 with
 * a seed each; a failure prints the seed and path that reproduce it:
 *   node --import tsx test/cookie/fuzz.ts --runs 50000 --wire 0 --workers 1 --seed <seed>
 * Exit code 0 when every case held.
 */
import { fork } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import fc from 'fast-check'
import {
  createCookieFixture,
  createWireServer,
  emptyStats,
  inProcessProperty,
  RawHttpClient,
  wireProperty,
  type CookieStats,
} from '../support/cookie-properties.js'
import { ProcessWatch } from '../support/in-process.js'

const CHUNK = 50_000
const IN_PROCESS_LIMITS = { hugeValue: 65_536, manyCookies: 500 }
const WIRE_LIMITS = { hugeValue: 20_000, manyCookies: 300, rareControlCharacters: true }

interface Args {
  runs: number
  wire: number
  workers: number
  seed: number
  worker: boolean
}

function parseArgs(argv: string[]): Args {
  const args: Args = { runs: 1_000_000, wire: 100_000, workers: Math.max(1, os.availableParallelism?.() ?? os.cpus().length), seed: Date.now() % 1_000_000_007, worker: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = Number(argv[i + 1])
    if (arg === '--runs') (args.runs = value), i++
    else if (arg === '--wire') (args.wire = value), i++
    else if (arg === '--workers') (args.workers = value), i++
    else if (arg === '--seed') (args.seed = value), i++
    else if (arg === '--worker') args.worker = true
    else throw new Error(`unknown argument ${arg}`)
  }
  return args
}

interface ChunkResult {
  seed: number
  runs: number
  ms: number
  stats: CookieStats
  failure?: string
}

function addStats(into: CookieStats, from: CookieStats): void {
  for (const key of Object.keys(into) as Array<keyof CookieStats>) into[key] += from[key]
}

/** Runs in-process chunks as told by the parent, answering each with its result. */
async function runWorker(): Promise<void> {
  const fixture = createCookieFixture()
  const watch = new ProcessWatch().install()
  process.on('message', async (message: { seed: number; runs: number } | 'exit') => {
    if (message === 'exit') {
      fixture.store.close()
      process.exit(0)
    }
    const stats = emptyStats()
    const start = Date.now()
    const details = await fc.check(inProcessProperty(fixture, IN_PROCESS_LIMITS, stats), { numRuns: message.runs, seed: message.seed })
    const result: ChunkResult = { seed: message.seed, runs: message.runs, ms: Date.now() - start, stats }
    if (details.failed) result.failure = fc.defaultReportMessage(details) ?? 'failed'
    else if (watch.unhandled.length || watch.uncaught.length) result.failure = `unhandled: ${watch.unhandled.map(String)}; uncaught: ${watch.uncaught.map(String)}`
    process.send!(result)
  })
  process.send!('ready')
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  if (args.worker) return runWorker()

  const started = Date.now()
  console.log(`fuzz: ${args.runs} cases in process on ${args.workers} worker(s), ${args.wire} over HTTP; seed ${args.seed}; node ${process.version}, ${os.cpus().length} CPUs`)
  const chunks: Array<{ seed: number; runs: number }> = []
  for (let done = 0, i = 0; done < args.runs; i++) {
    const runs = Math.min(CHUNK, args.runs - done)
    chunks.push({ seed: args.seed + i, runs })
    done += runs
  }
  const total = emptyStats()
  const failures: string[] = []
  let completed = 0
  let peakRssMB = 0

  const inProcess = Promise.all(
    Array.from({ length: Math.min(args.workers, chunks.length) }, async () => {
      const child = fork(__filename, ['--worker'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      await new Promise((resolve) => child.once('message', resolve))
      for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
        child.send(chunk)
        const result = await new Promise<ChunkResult>((resolve, reject) => {
          child.once('message', (message) => resolve(message as ChunkResult))
          child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)))
        })
        child.removeAllListeners('exit')
        addStats(total, result.stats)
        completed += result.runs
        if (result.failure) failures.push(`seed ${result.seed} (${result.runs} runs): ${result.failure}`)
        console.log(`  in process: ${completed}/${args.runs} (chunk seed ${result.seed}: ${result.runs} cases in ${(result.ms / 1000).toFixed(1)} s${result.failure ? ', FAILED' : ''})`)
      }
      child.send('exit')
      await new Promise((resolve) => child.once('exit', resolve))
    }),
  )

  // over the wire, in this process, at the same time
  const wireStats = emptyStats()
  const counts = { refused: 0 }
  let wireMs = 0
  const wire = (async () => {
    if (args.wire <= 0) return
    const fixture = createCookieFixture()
    const server = createWireServer(fixture)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const client = new RawHttpClient((server.address() as AddressInfo).port)
    const start = Date.now()
    try {
      const details = await fc.check(wireProperty(fixture, client, WIRE_LIMITS, counts, wireStats), { numRuns: args.wire, seed: args.seed })
      if (details.failed) failures.push(`over HTTP, seed ${args.seed}: ${fc.defaultReportMessage(details)}`)
    } finally {
      wireMs = Date.now() - start
      client.close()
      server.close()
      fixture.store.close()
    }
    console.log(`  over HTTP: ${args.wire} cases in ${(wireMs / 1000).toFixed(1)} s (${counts.refused} refused by Node's HTTP parser before any middleware)`)
  })()

  const rssTimer = setInterval(() => {
    peakRssMB = Math.max(peakRssMB, process.memoryUsage().rss / 1024 / 1024)
  }, 1000)
  await Promise.all([inProcess, wire])
  clearInterval(rssTimer)

  const seconds = (Date.now() - started) / 1000
  console.log(
    `\n${args.runs + args.wire} cases in ${seconds.toFixed(1)} s: ${args.runs} in process (${Math.round(args.runs / seconds)}/s overall), ` +
      `${args.wire} over HTTP (${wireMs ? Math.round((args.wire / wireMs) * 1000) : 0}/s)`,
  )
  console.log(`in process: ${JSON.stringify(total)}; peak RSS of the HTTP side ${Math.round(peakRssMB)} MB`)
  console.log(`over HTTP:  ${JSON.stringify(wireStats)}, refused by Node's parser: ${counts.refused}`)
  if (failures.length) {
    console.log(`FAILED:\n${failures.join('\n')}`)
    process.exitCode = 1
  } else {
    console.log('PASS: no crash, no error answer, no session adopted without a valid signature, no write under a foreign ID')
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
