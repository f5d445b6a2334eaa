import { describe, expect, it } from 'vitest'
import { formatHostPort, isLinkLocal, parseHostPort, reachableAddresses } from '../../src/protocol/address.js'

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:3000', { host: '127.0.0.1', port: 3000, family: 4 }],
    ['localhost:8000', { host: 'localhost', port: 8000, family: 0 }],
    ['[::1]:4000', { host: '::1', port: 4000, family: 6 }],
    ['[fd00::2]:65535', { host: 'fd00::2', port: 65535, family: 6 }],
    ['gpu-box.lan:11434', { host: 'gpu-box.lan', port: 11434, family: 0 }],
  ])('parses %s', (text, value) => {
    expect(parseHostPort(text)).toEqual({ ok: true, value })
  })

  it.each([
    ['3000', /HOST:PORT/],
    ['localhost:abc', /not a port number/],
    [':70000', /host is missing/],
    ['127.0.0.1:70000', /out of range/],
    ['127.0.0.1:0', /out of range \(1-65535\)/],
    ['::1:3000', /brackets/],
    ['[::1]3000', /expected ":PORT"/],
    ['[::1:3000', /missing "]"/],
    ['[127.0.0.1]:3000', /not an IPv6 address/],
    ['bad_host!:3000', /not a valid host/],
    ['127.0.0.1:', /not a port number/],
    ['127.0.0.1:-1', /not a port number/],
  ])('rejects %s', (text, reason) => {
    const parsed = parseHostPort(text)
    expect(parsed.ok).toBe(false)
    if (!parsed.ok) expect(parsed.reason).toMatch(reason)
  })

  it('allows port 0 only where asked to', () => {
    expect(parseHostPort('127.0.0.1:0', { allowPortZero: true })).toMatchObject({ ok: true, value: { port: 0 } })
  })

  it('formats IPv6 with brackets', () => {
    expect(formatHostPort({ host: '::1', port: 7 })).toBe('[::1]:7')
    expect(formatHostPort({ host: '10.0.0.1', port: 7 })).toBe('10.0.0.1:7')
  })
})

describe('reachableAddresses', () => {
  const interfaces = {
    lo: [
      { address: '127.0.0.1', family: 'IPv4' as const },
      { address: '::1', family: 'IPv6' as const },
    ],
    eth0: [
      { address: '192.0.2.2', family: 'IPv4' as const },
      { address: '169.254.1.1', family: 'IPv4' as const },
      { address: 'fd00::2', family: 'IPv6' as const },
      { address: 'fe80::1', family: 'IPv6' as const },
    ],
  }

  it('lists only the bound address when it is specific', () => {
    expect(reachableAddresses({ host: '127.0.0.1', port: 7000 }, interfaces)).toEqual(['127.0.0.1:7000'])
  })

  it('lists every interface address of the family for a wildcard, without link-local ones', () => {
    expect(reachableAddresses({ host: '0.0.0.0', port: 7000 }, interfaces)).toEqual(['127.0.0.1:7000', '192.0.2.2:7000'])
    expect(reachableAddresses({ host: '::', port: 7001 }, interfaces)).toEqual(['[::1]:7001', '[fd00::2]:7001'])
  })

  it('knows link-local addresses', () => {
    expect(isLinkLocal('169.254.0.9')).toBe(true)
    expect(isLinkLocal('FE80::1')).toBe(true)
    expect(isLinkLocal('fd00::1')).toBe(false)
  })
})
