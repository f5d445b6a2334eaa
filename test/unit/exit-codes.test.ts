import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { EXIT } from '../../src/cli/exit-codes.js'

describe('exit codes', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const documented = new Map<number, string>()
  for (const m of readme.matchAll(/^\| (\d+) \| `([A-Z_]+)`/gm)) documented.set(Number(m[1]), m[2]!)

  it('every user-facing code has a status that README documents', () => {
    for (const [code, { status }] of Object.entries(EXIT)) {
      if (code === 'OK' || code.startsWith('STREAM_')) continue
      expect([...documented.keys()], `${code} exits ${status}`).toContain(status)
    }
  })

  it('each failure class has its own status', () => {
    const classes = ['USAGE', 'TICKET_INVALID', 'HUB_UNREACHABLE', 'IDENTITY_MISMATCH', 'TOKEN_REFUSED', 'ADDR_IN_USE', 'HUB_STOPPED', 'HUB_LOST', 'TRANSPORT_UNAVAILABLE'] as const
    const statuses = classes.map((c) => EXIT[c].status)
    expect(new Set(statuses).size).toBe(classes.length)
    for (const c of classes) expect(documented.get(EXIT[c].status)).toBe(c)
  })
})
