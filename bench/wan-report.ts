/** The WAN bench's profiles, paths, goals (from issue 12) and its Markdown section. */
export type WanPath = 'direct' | 'hive' | 'hive-udx' | 'ssh'
export const WAN_PATHS: WanPath[] = ['direct', 'hive', 'hive-udx', 'ssh']

/** One path's figures in one profile, and all of them. */
export type WanResults = Record<string, Partial<Record<WanPath, Record<string, number>>>>

interface Profile {
  title: string
  /** Options for netem.py: each applies to both directions. */
  netem: string[]
  /** All rows, or one-stream throughput only. */
  full: boolean
  /** The link rate in Mbit/s, where a goal is a share of it. */
  rateMbit?: number
}

export const PROFILES: Record<string, Profile> = {
  a: { title: '(a) 40 ms RTT, 100 Mbit/s', netem: ['--delay', '20', '--rate', '100'], full: true, rateMbit: 100 },
  b: { title: '(b) 40 ms RTT, 100 Mbit/s, 1% loss', netem: ['--delay', '20', '--rate', '100', '--loss', '1'], full: true },
  c: { title: '(c) 150 ms RTT, 200 Mbit/s', netem: ['--delay', '75', '--rate', '200'], full: true, rateMbit: 200 },
  loss01: { title: '40 ms RTT, 100 Mbit/s, 0.1% loss', netem: ['--delay', '20', '--rate', '100', '--loss', '0.1'], full: false },
  loss3: { title: '40 ms RTT, 100 Mbit/s, 3% loss', netem: ['--delay', '20', '--rate', '100', '--loss', '3'], full: false },
  loss1rtt100: { title: '100 ms RTT, 100 Mbit/s, 1% loss', netem: ['--delay', '50', '--rate', '100', '--loss', '1'], full: false },
  reorder: { title: '40 ms RTT, 100 Mbit/s, 0-1 ms reordering jitter', netem: ['--delay', '20', '--rate', '100', '--jitter', '1', '--reorder'], full: false },
}

interface Metric {
  key: string
  label: string
  unit: string
  better: 'higher' | 'lower'
}

const METRICS: Metric[] = [
  { key: 'tput1', label: 'download, 1 stream', unit: 'Mbit/s', better: 'higher' },
  { key: 'tput8', label: 'download, 8 streams', unit: 'Mbit/s', better: 'higher' },
  { key: 'freshMs', label: 'request on a fresh connection (median)', unit: 'ms', better: 'lower' },
  { key: 'rps32', label: 'HTTP req/s, 32 keep-alive clients', unit: 'req/s', better: 'higher' },
  { key: 'p50ms32', label: '  p50 latency, 32 clients', unit: 'ms', better: 'lower' },
  { key: 'p99ms32', label: '  p99 latency, 32 clients', unit: 'ms', better: 'lower' },
]

/** A goal of the issue for hive: a bound on a figure, against ssh -L or the link rate. */
interface Goal {
  text: string
  met(hive: number, ssh: number | undefined): boolean | null
}

function goalFor(profileName: string, key: string): Goal | null {
  const profile = PROFILES[profileName]!
  const vsSsh = (factor: number, better: 'higher' | 'lower'): Goal => ({
    text: `${better === 'higher' ? '≥' : '≤'} ${factor}x ssh -L`,
    met: (h, s) => (s === undefined ? null : better === 'higher' ? h >= factor * s : h <= factor * s),
  })
  if (key === 'tput1' && profile.rateMbit) return { text: `≥ 0.9x link (${0.9 * profile.rateMbit})`, met: (h) => h >= 0.9 * profile.rateMbit! }
  if (key === 'tput1' && profileName === 'reorder') return vsSsh(0.5, 'higher')
  if (key === 'tput1') return vsSsh(0.8, 'higher')
  if (key === 'freshMs' && profileName === 'a') return vsSsh(0.6, 'lower')
  if (key === 'p99ms32' && profileName === 'b') return vsSsh(0.5, 'lower')
  return null
}

const fmt = (v: number | undefined): string => (v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2))
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`)

export function renderWan(results: WanResults, facts: Record<string, string | number | boolean>): string {
  const lines = [
    '## WAN (`npm run bench -- --wan`)',
    '',
    `One run: ${Object.entries(facts).map(([k, v]) => `${k} ${v}`).join(', ')}. Two network namespaces joined by bench/netem`,
    '(a userspace link: delay and loss apply to each direction; the rate is a token bucket with a 1000-packet queue).',
    'Servers in one, clients in the other; each path gets a fresh tunnel per profile. iperf3 downloads (-R) through the',
    'tunnel; the kernel\'s TCP (direct, ssh -L) runs BBR here. "hive, UDX" is `hive join --transport udx` (the DHT path,',
    'connecting directly); "hive, QUIC" is `--transport quic`. Goal: the issue\'s, checked on the better of the two.',
    '',
    '| profile | row | unit | direct | hive, QUIC | hive, UDX | ssh -L | QUIC / ssh | UDX / ssh | goal |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const [name, byPath] of Object.entries(results)) {
    const profile = PROFILES[name]!
    for (const m of METRICS) {
      if (!Object.values(byPath).some((f) => f?.[m.key] !== undefined)) continue
      const v = (p: WanPath): number | undefined => byPath[p]?.[m.key]
      const goal = goalFor(name, m.key)
      let verdict = ''
      if (goal) {
        const candidates = [v('hive'), v('hive-udx')].filter((x): x is number => x !== undefined)
        const best = candidates.length === 0 ? undefined : m.better === 'higher' ? Math.max(...candidates) : Math.min(...candidates)
        const met = best === undefined ? null : goal.met(best, v('ssh'))
        verdict = `${goal.text}: ${met === null ? 'n/a' : met ? '**met**' : 'not met'}`
      }
      lines.push(`| ${profile.title} | ${m.label} | ${m.unit} | ${WAN_PATHS.map((p) => fmt(v(p))).join(' | ')} | ${ratio(v('hive'), v('ssh'))} | ${ratio(v('hive-udx'), v('ssh'))} | ${verdict} |`)
    }
  }
  lines.push('')
  return lines.join('\n')
}
