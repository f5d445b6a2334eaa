import { Agent, request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { run, sleep } from './procs.js'

/** One figure with its unit; `null` where a path cannot be measured that way. */
export type Figure = number | null

/**
 * Where the measuring client runs and what it connects to: loopback by default, or inside a
 * network namespace (the WAN bench). `reverse`: iperf3 measures the server sending (-R).
 */
export interface Where {
  host: string
  netns?: string
  reverse?: boolean
}
const LOCAL: Where = { host: '127.0.0.1' }

function runAt(at: Where, cmd: string, args: string[], timeoutMs: number): ReturnType<typeof run> {
  return at.netns ? run('ip', ['netns', 'exec', at.netns, cmd, ...args], timeoutMs) : run(cmd, args, timeoutMs)
}

export interface Throughput {
  mbps: number
  bytes: number
  seconds: number
}

/**
 * iperf3 through `port`: MB/s received, from its JSON report. The iperf3 server takes one
 * client at a time and can still be closing the last one, so a failed attempt is retried.
 */
export async function iperf(port: number, streams: number, seconds: number, at: Where = LOCAL): Promise<Throughput> {
  let lastError = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt > 0) await sleep(1000)
    const args = ['-c', at.host, '-p', String(port), '-t', String(seconds), '-P', String(streams), '-J', ...(at.reverse ? ['-R'] : [])]
    const r = runAt(at, 'iperf3', args, (seconds + 30) * 1000)
    let report: { end?: { sum_received?: { bytes: number; seconds: number } }; error?: string } = {}
    try {
      report = JSON.parse(r.stdout || '{}')
    } catch {
      // Not JSON: reported below.
    }
    const sum = report.end?.sum_received
    if (sum) return { mbps: sum.bytes / 1e6 / sum.seconds, bytes: sum.bytes, seconds: sum.seconds }
    lastError = report.error ?? r.stderr.slice(0, 300)
    process.stderr.write(`  iperf3 attempt ${attempt + 1} failed: ${lastError}\n`)
  }
  throw new Error(`iperf3 failed: ${lastError}`)
}

export interface HttpLoad {
  rps: number
  /** Requests completed in the whole run, for cost per request. */
  requests: number
  p50ms: number
  p99ms: number
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim())
  if (!m) return NaN
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1)
}

/** wrk against a keep-alive HTTP server: requests per second, p50 and p99 latency. */
export function wrk(port: number, connections: number, seconds: number, at: Where = LOCAL): HttpLoad {
  const threads = Math.min(2, connections)
  const r = runAt(at, 'wrk', [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', `http://${at.host}:${port}/`], (seconds + 30) * 1000)
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1])
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1])
  const p50 = /^\s+50%\s+(\S+)/m.exec(r.stdout)?.[1]
  const p99 = /^\s+99%\s+(\S+)/m.exec(r.stdout)?.[1]
  if (!Number.isFinite(rps) || !Number.isFinite(requests) || !p50 || !p99) throw new Error(`wrk failed: ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`)
  const errors = /Socket errors: (.*)/.exec(r.stdout)?.[1]
  if (errors) process.stderr.write(`  wrk socket errors on port ${port}: ${errors}\n`)
  return { rps, requests, p50ms: toMs(p50), p99ms: toMs(p99) }
}

const fresh = new Agent({ keepAlive: false, maxSockets: Infinity })

function oneRequest(port: number, timeoutMs = 15_000, host = '127.0.0.1'): Promise<number> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: '/', agent: fresh, timeout: timeoutMs }, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}`))))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end()
  })
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** Median time of a request on a fresh TCP connection, one after another. */
export async function freshRequest(port: number, runs: number, host = '127.0.0.1'): Promise<number> {
  await oneRequest(port, 15_000, host) // warm-up, not counted
  const times: number[] = []
  for (let i = 0; i < runs; i++) times.push(await oneRequest(port, 15_000, host))
  return median(times)
}

/** `count` new connections opened at once, each making one request. */
export async function burst(port: number, count: number): Promise<{ ms: number; failures: number }> {
  const started = performance.now()
  const results = await Promise.allSettled(Array.from({ length: count }, () => oneRequest(port, 30_000)))
  return { ms: performance.now() - started, failures: results.filter((r) => r.status === 'rejected').length }
}

/** Opens `count` idle TCP connections through `port` and keeps them until `release`. */
export async function idleConnections(port: number, count: number): Promise<{ opened: number; release: () => void }> {
  const sockets: Socket[] = []
  let opened = 0
  for (let i = 0; i < count; i += 100) {
    const batch = await Promise.allSettled(
      Array.from({ length: Math.min(100, count - i) }, () => new Promise<Socket>((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port })
        s.once('connect', () => resolve(s))
        s.once('error', reject)
      })),
    )
    for (const r of batch) if (r.status === 'fulfilled') (sockets.push(r.value), opened++)
  }
  for (const s of sockets) s.on('error', () => undefined)
  await sleep(1500) // let both ends of the tunnel open their streams and settle
  return { opened, release: () => sockets.forEach((s) => s.destroy()) }
}

export { median }
