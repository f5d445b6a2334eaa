import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { formatBytes, liveLine } from '../../src/cli/live-stats.js'
import { Reporter } from '../../src/cli/reporter.js'

function terminal(isTTY: boolean): PassThrough & { isTTY: boolean; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY })
  let text = ''
  stream.on('data', (d: Buffer) => (text += d.toString()))
  return Object.assign(stream, { text: () => text })
}

describe('the live line', () => {
  it('says who is there, what is open and what moved', () => {
    const traffic = { streams: 1, bytesIn: 1_234_567, bytesOut: 999, services: {} }
    expect(liveLine({ ...traffic, peers: 2 }, 40_100, 0)).toBe('2 peers · 1 open connection · in 1.2 MB (40.1 kB/s) · out 999 B (0 B/s)')
    expect(liveLine({ ...traffic, linked: false }, 0, 0)).toMatch(/^waiting for the hub · /)
    expect(formatBytes(5e12 * 1000)).toBe('5000.0 TB')
  })

  it('stays below the status lines on a terminal, and is never written elsewhere', () => {
    const out = terminal(true)
    const err = terminal(true)
    const reporter = new Reporter(false, false, out, err)
    reporter.live('1 peer')
    reporter.status('+ peer `x` joined')
    expect(err.text()).toBe('\r\x1b[K1 peer\r\x1b[K+ peer `x` joined\n1 peer')
    // One terminal for both: the ticket in the status lines is not repeated on stdout.
    reporter.data('hive1ticket')
    expect(out.text()).toBe('')

    const piped = terminal(false)
    const toFile = new Reporter(false, false, piped, terminal(false))
    toFile.live('1 peer')
    toFile.data('hive1ticket')
    expect(piped.text()).toBe('hive1ticket\n')
    expect(toFile.liveView).toBe(false)
    expect(new Reporter(true, false, terminal(true), terminal(true)).liveView).toBe(false)
  })
})
