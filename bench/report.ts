import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export type PathName = 'direct' | 'quinn' | 'hive' | 'ssh' | 'holesail'
export type RunFigures = Record<string, number | null>
type Results = Partial<Record<PathName, RunFigures[]>>
type Facts = Record<string, string | number | boolean>

interface Metric {
  key: string
  label: string
  unit: string
  better: 'higher' | 'lower'
}

export const METRICS: Metric[] = [
  { key: 'tput1', label: 'bulk, 1 stream', unit: 'MB/s', better: 'higher' },
  { key: 'tput8', label: 'bulk, 8 streams', unit: 'MB/s', better: 'higher' },
  { key: 'cpuPerGiB', label: 'CPU per GiB, forwarders (1 stream)', unit: 's', better: 'lower' },
  { key: 'rps1', label: 'HTTP req/s, 1 connection', unit: 'req/s', better: 'higher' },
  { key: 'p50ms1', label: '  p50 latency, 1 connection (quinn: 64 B echo on an open stream)', unit: 'ms', better: 'lower' },
  { key: 'p99ms1', label: '  p99 latency, 1 connection (quinn: same)', unit: 'ms', better: 'lower' },
  { key: 'rps64', label: 'HTTP req/s, 64 connections (quinn: 64 B echoes on 64 open streams)', unit: 'req/s', better: 'higher' },
  { key: 'p50ms64', label: '  p50 latency, 64 connections (quinn: same)', unit: 'ms', better: 'lower' },
  { key: 'p99ms64', label: '  p99 latency, 64 connections (quinn: same)', unit: 'ms', better: 'lower' },
  { key: 'cpuUsPerReq', label: '  CPU per request, forwarders (64 connections)', unit: 'µs', better: 'lower' },
  { key: 'freshMs', label: 'request on a fresh connection (median)', unit: 'ms', better: 'lower' },
  { key: 'burstMs', label: 'burst of new connections, total', unit: 'ms', better: 'lower' },
  { key: 'burstFailures', label: '  burst failures', unit: '', better: 'lower' },
  { key: 'readyMs', label: 'start-up: hub ready (ticket printed; holesail: server key printed)', unit: 'ms', better: 'lower' },
  { key: 'firstRequestMs', label: 'start-up: client side started to first good request', unit: 'ms', better: 'lower' },
  { key: 'idleKiB_hub', label: 'memory per idle connection, hub', unit: 'KiB', better: 'lower' },
  { key: 'idleKiB_peer', label: 'memory per idle connection, peer', unit: 'KiB', better: 'lower' },
  { key: 'idleKiB_sshd', label: 'memory per idle connection, sshd', unit: 'KiB', better: 'lower' },
  { key: 'idleKiB_ssh', label: 'memory per idle connection, ssh', unit: 'KiB', better: 'lower' },
  { key: 'idleKiB_holesail-server', label: 'memory per idle connection, holesail server', unit: 'KiB', better: 'lower' },
  { key: 'idleKiB_holesail-client', label: 'memory per idle connection, holesail client', unit: 'KiB', better: 'lower' },
  { key: 'rssIdleMB_hub', label: 'RSS idle after start, hub', unit: 'MB', better: 'lower' },
  { key: 'rssIdleMB_peer', label: 'RSS idle after start, peer', unit: 'MB', better: 'lower' },
  { key: 'rssIdleMB_sshd', label: 'RSS idle after start, sshd (all its processes)', unit: 'MB', better: 'lower' },
  { key: 'rssIdleMB_ssh', label: 'RSS idle after start, ssh', unit: 'MB', better: 'lower' },
  { key: 'rssIdleMB_holesail-server', label: 'RSS idle after start, holesail server', unit: 'MB', better: 'lower' },
  { key: 'rssIdleMB_holesail-client', label: 'RSS idle after start, holesail client', unit: 'MB', better: 'lower' },
  { key: 'rssAfterMB_hub', label: 'RSS after the load above, hub', unit: 'MB', better: 'lower' },
  { key: 'rssAfterMB_peer', label: 'RSS after the load above, peer', unit: 'MB', better: 'lower' },
  { key: 'rssAfterMB_sshd', label: 'RSS after the load above, sshd (all its processes)', unit: 'MB', better: 'lower' },
  { key: 'rssAfterMB_ssh', label: 'RSS after the load above, ssh', unit: 'MB', better: 'lower' },
  { key: 'rssAfterMB_holesail-server', label: 'RSS after the load above, holesail server', unit: 'MB', better: 'lower' },
  { key: 'rssAfterMB_holesail-client', label: 'RSS after the load above, holesail client', unit: 'MB', better: 'lower' },
]

const PATHS: PathName[] = ['direct', 'quinn', 'hive', 'ssh', 'holesail']
const TITLES: Record<PathName, string> = { direct: 'direct', quinn: 'quinn', hive: 'hive', ssh: 'ssh -L', holesail: 'holesail' }

function values(results: Results, path: PathName, key: string): number[] {
  return (results[path] ?? []).map((r) => r[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)
}

function cell(xs: number[]): string {
  const m = median(xs)
  if (m === null) return '–'
  if (xs.length < 2) return fmt(m)
  return `${fmt(m)} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`
}

function ratio(results: Results, key: string, against: PathName): string {
  const hive = median(values(results, 'hive', key))
  const other = median(values(results, against, key))
  if (hive === null || other === null || other === 0) return '–'
  return `${(hive / other).toFixed(2)}×`
}

export function summarize(results: Results): Record<string, Record<string, { median: number | null; min: number | null; max: number | null; runs: number[] }>> {
  const out: ReturnType<typeof summarize> = {}
  for (const path of PATHS) {
    if (!results[path]) continue
    out[path] = {}
    for (const m of METRICS) {
      const xs = values(results, path, m.key)
      if (xs.length === 0) continue
      out[path]![m.key] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs }
    }
  }
  return out
}

export function renderJson(results: Results, facts: Facts): string {
  return JSON.stringify({ facts, metrics: METRICS, paths: summarize(results) }, null, 2)
}

export function renderMarkdown(results: Results, facts: Facts): string {
  const present = PATHS.filter((p) => results[p])
  const lines: string[] = []
  lines.push('# hive benchmark', '')
  lines.push(`Run ${facts.date} on ${facts.cores} cores (${facts.cpu}), Node ${facts.node}; ${facts.runs} run(s) per path${facts.quick ? ', --quick' : ''}.`)
  lines.push('Every path reaches the same loopback targets: an iperf3 server and a 64-byte keep-alive HTTP server.')
  lines.push('Cells are the median, with the spread (min–max) over the runs in brackets. `–`: not measured on that path.', '')
  lines.push(`| metric | unit | ${present.map((p) => TITLES[p]).join(' | ')} |`)
  lines.push(`|---|---|${present.map(() => '---').join('|')}|`)
  for (const m of METRICS) {
    if (present.every((p) => values(results, p, m.key).length === 0)) continue
    lines.push(`| ${m.label} | ${m.unit} | ${present.map((p) => cell(values(results, p, m.key))).join(' | ')} |`)
  }
  if (results.hive) {
    const against = present.filter((p) => p !== 'hive')
    lines.push('', '## hive against the others', '', 'Ratios of medians, hive ÷ other (for time, CPU and memory, lower is better).', '')
    lines.push(`| metric | ${against.map((p) => `hive ÷ ${TITLES[p]}`).join(' | ')} |`)
    lines.push(`|---|${against.map(() => '---').join('|')}|`)
    for (const m of METRICS) {
      if (values(results, 'hive', m.key).length === 0 || m.key === 'burstFailures') continue
      lines.push(`| ${m.label} | ${against.map((p) => ratio(results, m.key, p)).join(' | ')} |`)
    }
  }
  const notes = join(import.meta.dirname, '..', '..', 'bench', 'OPTIMISATIONS.md')
  if (existsSync(notes)) lines.push('', readFileSync(notes, 'utf8').trim())
  return lines.join('\n') + '\n'
}
