import { cpus } from 'node:os'
import { join } from 'node:path'
import { burst, freshRequest, idleConnections, iperf, wrk } from './measure.js'
import { directPath, hivePath, holesailPath, quinnPath, sshPath, startTargets, type Path, type Targets } from './paths.js'
import { hasCommand, rssBytes, run, sleep, totalCpu } from './procs.js'
import { renderJson, renderMarkdown, type PathName, type RunFigures } from './report.js'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { WAN_START } from './wan-section.js'

/**
 * `npm run bench`: one run, five paths (direct, quinn, hive, ssh -L, holesail), the same loopback
 * targets. Each path is measured `runs` times; the report gives medians and spreads.
 */
interface Options {
  quick: boolean
  only: PathName[]
  out: string
  json: boolean
  runs: number
}

const HERE = import.meta.dirname
const REPO = join(HERE, '..', '..')

const PATH_NAMES: PathName[] = ['direct', 'quinn', 'hive', 'ssh', 'holesail']

function parseArgs(argv: string[]): Options {
  const opts: Options = { quick: false, only: [...PATH_NAMES], out: join(REPO, 'bench', 'RESULTS.md'), json: false, runs: 3 }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--quick') opts.quick = true
    else if (arg === '--json') opts.json = true
    else if (arg === '--only') opts.only = argv[++i]!.split(',').map((p) => p.trim()) as PathName[]
    else if (arg === '--out') opts.out = argv[++i]!
    else if (arg === '--runs') opts.runs = Number(argv[++i])
    else throw new Error(`unknown option ${arg}; use --quick, --only PATHS, --out FILE, --runs N, --json`)
  }
  for (const p of opts.only) if (!PATH_NAMES.includes(p)) throw new Error(`unknown path ${p}`)
  if (opts.quick && !argv.includes('--runs')) opts.runs = 1
  return opts
}

function checkTools(only: PathName[]): void {
  const needed = new Map<string, string>([['iperf3', 'iperf3'], ['wrk', 'wrk']])
  if (only.includes('ssh')) needed.set('/usr/sbin/sshd', 'openssh-server').set('ssh', 'openssh-client')
  const missing = [...needed].filter(([cmd]) => !hasCommand(cmd)).map(([, pkg]) => pkg)
  if (missing.length > 0) {
    process.stderr.write(`bench: missing tools; install them with:\n  apt-get install -y ${missing.join(' ')}\n`)
    process.exit(2)
  }
}

function scale(quick: boolean): { seconds: number; freshRuns: number; burstSize: number; idle: number } {
  return quick ? { seconds: 1, freshRuns: 10, burstSize: 200, idle: 200 } : { seconds: 5, freshRuns: 50, burstSize: 1000, idle: 1000 }
}

/** CPU seconds used by the forwarding processes while `work` runs; null for a path without any. */
async function withCpu<T>(path: Path, work: () => Promise<T> | T): Promise<{ result: T; cpuSeconds: number | null }> {
  const pids = (): number[] => Object.values(path.groups).flatMap((g) => g())
  const before = totalCpu(pids)
  const result = await work()
  const used = totalCpu(pids) - before
  return { result, cpuSeconds: Object.keys(path.groups).length === 0 ? null : used }
}

const perGiB = (cpuSeconds: number | null, bytes: number): number | null => (cpuSeconds === null ? null : cpuSeconds / (bytes / 2 ** 30))

async function measurePath(path: Path & { port?: number }, quick: boolean, endpointScript: string): Promise<RunFigures> {
  const s = scale(quick)
  const f: RunFigures = {}
  if (path.startup) {
    f.readyMs = path.startup.readyMs ?? null
    f.firstRequestMs = path.startup.firstRequestMs
  }
  const log = (what: string): void => void process.stderr.write(`  ${path.name}: ${what}\n`)
  const groups = Object.entries(path.groups)
  const rss = (): number[] => groups.map(([, pids]) => pids().reduce((sum, pid) => sum + rssBytes(pid), 0))
  // Started and one request served, nothing else yet: what each process holds at rest.
  await sleep(1000)
  rss().forEach((bytes, i) => (f[`rssIdleMB_${groups[i]![0]}`] = bytes / 2 ** 20))
  if (path.name === 'quinn') {
    const client = (task: string, a: number, b = 0): Record<string, number> => {
      const r = run(process.execPath, [endpointScript, 'client', String(path.port), task, String(a), String(b)], 120_000)
      if (r.status !== 0) throw new Error(`quinn client ${task} failed: ${r.stderr.slice(-400)}`)
      return JSON.parse(r.stdout)
    }
    log('bulk')
    const { result: one, cpuSeconds } = await withCpu(path, () => client('bulk', s.seconds, 1) as unknown as { bytes: number; mbps: number; cpuSeconds: number })
    f.tput1 = one.mbps
    // Both ends count: the server (measured from outside) and the client (its own report).
    f.cpuPerGiB = perGiB(cpuSeconds! + one.cpuSeconds, one.bytes)
    f.tput8 = client('bulk', s.seconds, 8).mbps!
    log('ping')
    const ping = client('ping', quick ? 200 : 2000)
    f.p50ms1 = ping.p50ms!
    f.p99ms1 = ping.p99ms!
    log('load, 64 streams')
    const { result: load, cpuSeconds: serverCpu } = await withCpu(path, () => client('load', s.seconds, 64))
    Object.assign(f, { rps64: load.rps, p50ms64: load.p50ms, p99ms64: load.p99ms })
    f.cpuUsPerReq = ((serverCpu! + load.cpuSeconds!) / load.requests!) * 1e6
    log('fresh and burst')
    f.freshMs = client('fresh', s.freshRuns).ms!
    const b = client('burst', s.burstSize)
    f.burstMs = b.ms!
    f.burstFailures = b.failures!
    return f
  }
  log('iperf3, 1 stream')
  const { result: one, cpuSeconds } = await withCpu(path, () => iperf(path.iperfPort!, 1, s.seconds))
  f.tput1 = one.mbps
  f.cpuPerGiB = perGiB(cpuSeconds, one.bytes)
  log('iperf3, 8 streams')
  f.tput8 = (await iperf(path.iperfPort!, 8, s.seconds)).mbps
  log('wrk')
  const c1 = wrk(path.httpPort!, 1, s.seconds)
  const { result: c64, cpuSeconds: c64Cpu } = await withCpu(path, () => wrk(path.httpPort!, 64, s.seconds))
  f.cpuUsPerReq = c64Cpu === null ? null : (c64Cpu / c64.requests) * 1e6
  Object.assign(f, { rps1: c1.rps, p50ms1: c1.p50ms, p99ms1: c1.p99ms, rps64: c64.rps, p50ms64: c64.p50ms, p99ms64: c64.p99ms })
  log('fresh connections')
  f.freshMs = await freshRequest(path.httpPort!, s.freshRuns)
  log(`burst of ${s.burstSize}`)
  const b = await burst(path.httpPort!, s.burstSize)
  f.burstMs = b.ms
  f.burstFailures = b.failures
  if (groups.length > 0) {
    log(`${s.idle} idle connections`)
    const before = rss()
    const idle = await idleConnections(path.httpPort!, s.idle)
    const after = rss()
    idle.release()
    groups.forEach(([role], i) => {
      // A process still giving back memory from the load above shrinks meanwhile (holesail's
      // client buffers bulk data without limit): no figure then, rather than a negative one.
      const kib = (after[i]! - before[i]!) / 1024 / idle.opened
      if (kib < 0) log(`${role} shrank while the idle connections were open: no figure`)
      f[`idleKiB_${role}`] = kib < 0 ? null : kib
    })
    // After all of the load above, and the idle connections gone: what each process still holds.
    await sleep(1000)
    rss().forEach((bytes, i) => (f[`rssAfterMB_${groups[i]![0]}`] = bytes / 2 ** 20))
  }
  return f
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2))
  checkTools(opts.only)
  const hiveBin = join(REPO, 'dist', 'cli.js')
  const endpointScript = join(HERE, 'quinn-endpoint.js')
  // CommonJS, not compiled: run from the source tree, where it finds node_modules.
  const holesailScript = join(REPO, 'bench', 'holesail-endpoint.cjs')
  const open = async (name: PathName, t: Targets): Promise<Path> =>
    name === 'direct' ? directPath(t)
    : name === 'hive' ? await hivePath(t, hiveBin)
    : name === 'ssh' ? await sshPath(t)
    : name === 'holesail' ? await holesailPath(t, holesailScript)
    : await quinnPath(endpointScript)
  const results: Partial<Record<PathName, RunFigures[]>> = {}
  let targets: Targets | undefined
  try {
    targets = await startTargets(join(HERE, 'http-server.js'))
    for (let runIndex = 0; runIndex < opts.runs; runIndex++) {
      for (const name of opts.only) {
        process.stderr.write(`run ${runIndex + 1}/${opts.runs}, path ${name}\n`)
        const path = await open(name, targets)
        try {
          ;(results[name] ??= []).push(await measurePath(path, opts.quick, endpointScript))
        } finally {
          await path.stop()
        }
      }
    }
  } finally {
    await targets?.stop()
  }
  const facts = { date: new Date().toISOString(), node: process.version, cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', runs: opts.runs, quick: opts.quick }
  const markdown = renderMarkdown(results, facts)
  // The WAN section is written by `--wan`, in its own run: kept as it was.
  const old = existsSync(opts.out) ? readFileSync(opts.out, 'utf8') : ''
  const wan = old.includes(WAN_START) ? old.slice(old.indexOf(WAN_START)) : ''
  writeFileSync(opts.out, wan ? `${markdown.trimEnd()}\n\n${wan}` : markdown)
  process.stderr.write(`wrote ${opts.out}\n`)
  if (opts.json) process.stdout.write(renderJson(results, facts) + '\n')
  else process.stdout.write(markdown)
}

const argv = process.argv.slice(2)
;(argv.includes('--wan') ? import('./wan.js').then((wan) => wan.mainWan(argv)) : main()).catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
