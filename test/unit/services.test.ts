import { describe, expect, it } from 'vitest'
import { LEGACY_TABLE, MAX_SERVICES, assignPortIds } from '../../src/protocol/services.js'

const named = (...names: string[]) => names.map((name, i) => ({ name, port: 1000 + i }))

describe('assignPortIds', () => {
  it('keeps 1, 2 and 3 for frontend, backend and websocket, wherever they are listed', () => {
    expect(assignPortIds(named('websocket', 'frontend', 'backend')).map((e) => e.id)).toEqual([3, 1, 2])
    expect(assignPortIds(named('ollama', 'frontend', 'web')).map((e) => e.id)).toEqual([4, 1, 5])
  })

  it('gives other names 4, 5, ... in order, and 1 to 3 last, for a hub of 255 services', () => {
    const all = assignPortIds(named(...Array.from({ length: MAX_SERVICES }, (_, i) => `svc${i}`)))
    expect(all.slice(0, 2).map((e) => e.id)).toEqual([4, 5])
    expect(all.slice(-3).map((e) => e.id)).toEqual([1, 2, 3])
    expect(new Set(all.map((e) => e.id)).size).toBe(MAX_SERVICES)
    expect(Math.max(...all.map((e) => e.id))).toBe(255)
  })

  it('keeps the service port numbers, for a peer to mirror', () => {
    expect(assignPortIds([{ name: 'ollama', port: 11434 }])).toEqual([{ name: 'ollama', id: 4, port: 11434 }])
  })

  it('refuses more than 255 services, a name twice, or a name that is not a name', () => {
    expect(() => assignPortIds(named(...Array.from({ length: 256 }, (_, i) => `s${i}`)))).toThrow(RangeError)
    expect(() => assignPortIds(named('db', 'db'))).toThrow(RangeError)
    expect(() => assignPortIds(named('two words'))).toThrow(RangeError)
    expect(() => assignPortIds(named('-x'))).toThrow(RangeError)
  })

  it('describes a hub that sends no table as the three services of the first protocol', () => {
    expect(LEGACY_TABLE).toEqual([
      { name: 'frontend', id: 1, port: 3000 },
      { name: 'backend', id: 2, port: 8000 },
      { name: 'websocket', id: 3, port: 4000 },
    ])
  })
})
