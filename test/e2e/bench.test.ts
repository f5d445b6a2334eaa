import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { canUseNetns } from '../helpers/netns.js'

// Asynchronous, so the worker answers vitest while a run takes its minute (a synchronous call
// blocked it long enough for vitest to report a timeout on its own channel).
const run = promisify(execFile)

/** Checks only that the benchmark produces a well-formed report; it never asserts a time. */
describe('npm run bench', () => {
  it('--quick --only direct,hive writes a well-formed report to --out, and leaves RESULTS.md alone', async () => {
    const results = join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md')
    const before = statSafe(results)
    const out = join(mkdtempSync(join(tmpdir(), 'hive-bench-')), 'report.md')
    const { stdout: json } = await run('npm', ['run', '--silent', 'bench', '--', '--quick', '--only', 'direct,hive', '--out', out, '--json'], {
      encoding: 'utf8',
      timeout: 240_000,
    })
    const report = readFileSync(out, 'utf8')
    expect(report).toMatch(/^# hive benchmark/)
    expect(report).toMatch(/\| metric \| unit \| direct \| hive \|/)
    const cells = (label: string): string[] => {
      const line = report.split('\n').find((l) => l.startsWith(`| ${label} |`))
      expect(line, label).toBeDefined()
      return line!.split('|').slice(3, -1).map((c) => c.trim())
    }
    const number = /^-?[\d.]+$/
    for (const label of ['bulk, 1 stream', 'bulk, 8 streams', 'HTTP req/s, 64 connections (quinn: 64 B echoes on 64 open streams)', 'request on a fresh connection (median)']) {
      expect(cells(label), label).toEqual([expect.stringMatching(number), expect.stringMatching(number)])
    }
    // CPU is counted for forwarding processes, and the direct path has none.
    expect(cells('  CPU per request, forwarders (64 connections)')).toEqual(['–', expect.stringMatching(number)])
    // Memory per connection has no meaning for the direct path.
    expect(cells('memory per idle connection, hub')).toEqual(['–', expect.stringMatching(number)])
    // What a hub and a peer hold at rest: a process measured, so tens of MB, not zero.
    for (const role of ['hub', 'peer']) {
      const [direct, hive] = cells(`RSS idle after start, ${role}`)
      expect(direct).toBe('–')
      expect(Number(hive)).toBeGreaterThan(10)
    }
    expect(report).toContain('hive ÷ direct')
    const parsed = JSON.parse(json.slice(json.indexOf('{')))
    expect(parsed.paths.hive.tput1.median).toBeGreaterThan(0)
    expect(parsed.paths.direct.rps1.median).toBeGreaterThan(0)
    expect(statSafe(results)).toEqual(before)
  }, 300_000)
})

function statSafe(file: string): number | null {
  try {
    return statSync(file).mtimeMs
  } catch {
    return null
  }
}

describe.runIf(canUseNetns())('npm run bench -- --wan', () => {
  it('--quick --profiles b writes a WAN section with ratios and goals to --out, and leaves RESULTS.md alone', async () => {
    const results = join(import.meta.dirname, '..', '..', 'bench', 'RESULTS.md')
    const before = statSafe(results)
    const out = join(mkdtempSync(join(tmpdir(), 'hive-bench-')), 'report.md')
    await run('npm', ['run', '--silent', 'bench', '--', '--wan', '--quick', '--profiles', 'b', '--only', 'hive,hive-udx', '--out', out], {
      encoding: 'utf8',
      timeout: 240_000,
    })
    const report = readFileSync(out, 'utf8')
    expect(report).toMatch(/<!-- wan -->\n## WAN/)
    const row = (label: string): string[] => {
      const line = report.split('\n').find((l) => l.startsWith(`| (b) 40 ms RTT, 100 Mbit/s, 1% loss | ${label} |`))
      expect(line, label).toBeDefined()
      return line!.split('|').slice(4, -1).map((c) => c.trim())
    }
    const number = /^[\d.]+$/
    // direct, hive QUIC, hive UDX, ssh -L, the two ratios, the goal
    expect(row('download, 1 stream')).toEqual(['-', expect.stringMatching(number), expect.stringMatching(number), '-', '-', '-', expect.stringMatching(/^≥ 0.8x ssh -L: n\/a$/)])
    expect(row('  p99 latency, 32 clients').slice(1, 3)).toEqual([expect.stringMatching(number), expect.stringMatching(number)])
    expect(statSafe(results)).toEqual(before)
  }, 300_000)
})

