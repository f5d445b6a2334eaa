import { describe, expect, it } from 'vitest'
import { parseDhtBootstrap } from '../../src/dht/bootstrap.js'
import { dhtOptions } from '../../src/cli/paths.js'
import { enforceLocalDht } from '../helpers/hive.js'

describe('--dht-bootstrap', () => {
  it('is the public DHT when unset, off with `none`, and a list of nodes otherwise', () => {
    expect(parseDhtBootstrap(undefined)).toEqual({ kind: 'default' })
    expect(parseDhtBootstrap(' ')).toEqual({ kind: 'default' })
    expect(parseDhtBootstrap('none')).toEqual({ kind: 'none' })
    expect(parseDhtBootstrap('198.18.0.1:49737, 127.0.0.1:4000')).toEqual({ kind: 'nodes', nodes: ['198.18.0.1:49737', '127.0.0.1:4000'] })
  })

  it.each([['198.18.0.1'], ['198.18.0.1:0'], ['x:y'], [Array.from({ length: 17 }, (_, i) => `127.0.0.1:${4000 + i}`).join(',')]])('refuses %s as a usage error', (value) => {
    expect(() => parseDhtBootstrap(value)).toThrow(expect.objectContaining({ code: 'USAGE' }))
  })
})

describe('--relay', () => {
  const key = 'ab'.repeat(32)
  it('takes relay keys as 64 hex digits, repeated or comma-separated', () => {
    expect(dhtOptions({ relay: [key, ` ${key.toUpperCase()} `] }).relays).toEqual([Buffer.from(key, 'hex'), Buffer.from(key, 'hex')])
  })
  it('refuses anything else, and more than 8', () => {
    expect(() => dhtOptions({ relay: ['abc'] })).toThrow(expect.objectContaining({ code: 'USAGE' }))
    expect(() => dhtOptions({ relay: Array(9).fill(key) })).toThrow(/at most 8/)
  })
})

describe('the test helpers keep every test off the public DHT', () => {
  it('turn the DHT off when a test names none, and refuse nodes outside loopback and the namespaces', () => {
    expect(enforceLocalDht(['share'], {}).HIVE_DHT_BOOTSTRAP).toBe('none')
    expect(enforceLocalDht(['share'], { HIVE_DHT_BOOTSTRAP: '' }).HIVE_DHT_BOOTSTRAP).toBe('none')
    expect(enforceLocalDht(['join', '--dht-bootstrap', '198.18.0.1:49737'], {}).HIVE_DHT_BOOTSTRAP).toBeUndefined()
    expect(() => enforceLocalDht(['join', '--dht-bootstrap', '88.99.3.86:49737'], {})).toThrow(/outside loopback/)
    expect(() => enforceLocalDht(['join'], { HIVE_DHT_BOOTSTRAP: 'node1.hyperdht.org:49737' })).toThrow(/outside loopback/)
  })
})
