import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { constants, tmpdir } from 'node:os'
import { join } from 'node:path'

/** The built CLI, spawned the way a user runs it (its shebang picks node). */
export const HIVE_BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli.js')

export interface HiveProcess {
  child: ChildProcess
  stdout: string
  stderr: string
  events: Array<Record<string, unknown> & { event: string }>
  /** Resolves with the nth (default first) event of this type; rejects if the process exits first or time runs out. */
  waitEvent(type: string, timeoutMs?: number, nth?: number): Promise<Record<string, unknown>>
  /** Resolves with the exit status (128 + n for a signal). */
  exited: Promise<number>
  signal(sig: NodeJS.Signals): void
  rss(): number
}

const running = new Set<HiveProcess>()

/** DHT nodes a test may name: loopback, and the ranges the tests' own namespaces use. */
const ALLOWED_DHT_NODE = /^(127\.|198\.(18|19)\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)[\d.]+:\d+$/

/**
 * No test may reach the public DHT bootstrap nodes: hive's default. A test that names no DHT
 * gets `none`; one that names nodes may name only its own.
 */
export function enforceLocalDht(args: string[], env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const at = args.indexOf('--dht-bootstrap')
  const fromArgs = at >= 0 ? args[at + 1] : args.find((a) => a.startsWith('--dht-bootstrap='))?.split('=')[1]
  const value = fromArgs ?? env.HIVE_DHT_BOOTSTRAP
  if (value === undefined || value.trim() === '') return { ...env, HIVE_DHT_BOOTSTRAP: 'none' }
  if (value !== 'none' && !value.split(',').every((node) => ALLOWED_DHT_NODE.test(node.trim()))) {
    throw new Error(`a test named DHT nodes outside loopback and its namespaces: ${value}`)
  }
  return env
}

export function runHive(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; netns?: string; prefix?: string[] } = {}): HiveProcess {
  const config = mkdtempSync(join(tmpdir(), 'hive-cfg-'))
  // A prefix runs hive under another command that execs it, such as `prlimit` or `ip netns exec`.
  const prefix = [...(opts.netns ? ['ip', 'netns', 'exec', opts.netns] : []), ...(opts.prefix ?? [])]
  const [command, ...argv] = [...prefix, HIVE_BIN, ...args]
  const env = enforceLocalDht(args, { ...process.env, XDG_CONFIG_HOME: config, NODE_OPTIONS: '--unhandled-rejections=strict', ...opts.env })
  const child = spawn(command!, argv, {
    // A rejection nobody handles must end the process loudly, so a test sees it.
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  if (opts.stdin !== undefined) child.stdin!.end(opts.stdin)
  else child.stdin!.end()
  const proc: HiveProcess = {
    child,
    stdout: '',
    stderr: '',
    events: [],
    exited: new Promise((resolve) => {
      child.once('exit', (code, sig) => resolve(code ?? 128 + (sig ? constants.signals[sig] : 0)))
      // A spawn that fails (a missing or non-executable build) must fail the test, not hang it.
      child.once('error', (err) => {
        proc.stderr += `spawn failed: ${err.message}\n`
        resolve(-1)
      })
    }),
    waitEvent(type, timeoutMs = 20_000, nth = 1) {
      return new Promise((resolve, reject) => {
        const found = (): boolean => {
          const event = proc.events.filter((e) => e.event === type)[nth - 1]
          if (event) resolve(event)
          return event !== undefined
        }
        if (found()) return
        const timer = setTimeout(() => reject(new Error(`no ${type} event within ${timeoutMs} ms; stderr:\n${proc.stderr}`)), timeoutMs)
        const onData = (): void => {
          if (found()) {
            clearTimeout(timer)
            child.stdout!.off('data', onData)
          }
        }
        child.stdout!.on('data', onData)
        void proc.exited.then((status) => {
          setImmediate(() => {
            if (!found()) {
              clearTimeout(timer)
              reject(new Error(`hive exited ${status} before ${type}; stderr:\n${proc.stderr}`))
            }
          })
        })
      })
    },
    signal(sig) {
      child.kill(sig)
    },
    rss() {
      return rssOf(child.pid!)
    },
  }
  let pending = ''
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    proc.stdout += text
    pending += text
    const lines = pending.split('\n')
    pending = lines.pop()!
    for (const line of lines) {
      if (line.startsWith('{')) proc.events.push(JSON.parse(line))
    }
  })
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (proc.stderr += text))
  running.add(proc)
  void proc.exited.then(() => running.delete(proc))
  return proc
}

/**
 * The exit status, or a failure that says what the process printed if it is still running
 * after `timeoutMs`: a hang then reads as a hang, with its evidence, not as a test timeout.
 */
export async function exitedWithin(proc: HiveProcess, timeoutMs: number, what = 'hive'): Promise<number> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const events = proc.events.map((e) => e.event).join(', ') || 'none'
      reject(new Error(`${what} still running after ${timeoutMs} ms (events: ${events}); stderr:\n${proc.stderr}`))
    }, timeoutMs)
  })
  try {
    return await Promise.race([proc.exited, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Resident memory of a process in bytes, from /proc. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb * 1024
}

/** Kills every hive this test file started; call from afterEach/afterAll. */
export async function killAll(): Promise<void> {
  const procs = [...running]
  for (const p of procs) p.child.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
}

export interface Tunnel {
  hub: HiveProcess
  peer: HiveProcess
  ticket: string
  ports: { frontend?: number; backend?: number; websocket?: number }
}

/** A hub on loopback sharing the given services, and one peer on free local ports. */
export async function startHub(services: [string, string, string], extra: string[] = []): Promise<{ hub: HiveProcess; ticket: string }> {
  const hub = runHive(['share', ...services, 'test-hub', '--ipv4-addr', '127.0.0.1:0', '--ephemeral', '--json', ...extra])
  const ready = await hub.waitEvent('hub_ready')
  return { hub, ticket: ready.ticket as string }
}

export async function startPeer(ticket: string, name = 'test-peer', extra: string[] = []): Promise<{ peer: HiveProcess; ports: Tunnel['ports']; readyMs: number }> {
  const started = Date.now()
  const peer = runHive(['join', name, '--ticket', ticket, '--frontend-addr', '127.0.0.1:0', '--backend-addr', '127.0.0.1:0', '--ws-addr', '127.0.0.1:0', '--json', ...extra])
  const ready = await peer.waitEvent('join_ready')
  const readyMs = Date.now() - started
  const services = ready.services as Record<string, string | null>
  const port = (v: string | null | undefined): number | undefined => (v ? Number(v.split(':').pop()) : undefined)
  return { peer, readyMs, ports: { frontend: port(services.frontend), backend: port(services.backend), websocket: port(services.websocket) } }
}

export async function startTunnel(services: [string, string, string]): Promise<Tunnel & { readyMs: number }> {
  const { hub, ticket } = await startHub(services)
  const { peer, ports, readyMs } = await startPeer(ticket)
  return { hub, peer, ticket, ports, readyMs }
}
