import { isIP } from 'node:net'

export interface HostPort {
  host: string
  port: number
  /** 4 or 6 for an IP literal, 0 for a host name. */
  family: 0 | 4 | 6
}

export type AddressParseResult = { ok: true; value: HostPort } | { ok: false; reason: string }

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/**
 * Parses `host:port` or `[v6]:port`. Port 0 is allowed only where the caller binds
 * (it means "any free port"), never where it connects.
 */
export function parseHostPort(text: string, opts: { allowPortZero?: boolean } = {}): AddressParseResult {
  let host: string
  let portText: string
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0) return { ok: false, reason: 'missing "]" after the IPv6 address' }
    host = text.slice(1, close)
    if (text[close + 1] !== ':') return { ok: false, reason: 'expected ":PORT" after "]"' }
    portText = text.slice(close + 2)
    if (isIP(host) !== 6) return { ok: false, reason: `"${host}" is not an IPv6 address` }
  } else {
    const colon = text.lastIndexOf(':')
    if (colon < 0) return { ok: false, reason: 'expected HOST:PORT, for example 127.0.0.1:3000' }
    host = text.slice(0, colon)
    portText = text.slice(colon + 1)
    if (host.includes(':')) return { ok: false, reason: 'an IPv6 address needs brackets, as in [::1]:3000' }
    if (host === '') return { ok: false, reason: 'the host is missing, as in 127.0.0.1:3000' }
    if (isIP(host) === 0 && !HOSTNAME.test(host)) return { ok: false, reason: `"${host}" is not a valid host` }
  }
  if (!/^\d{1,5}$/.test(portText)) return { ok: false, reason: `"${portText}" is not a port number` }
  const port = Number(portText)
  const min = opts.allowPortZero ? 0 : 1
  if (port < min || port > 65535) return { ok: false, reason: `port ${port} is out of range (${min}-65535)` }
  const ip = isIP(host)
  return { ok: true, value: { host, port, family: ip === 4 ? 4 : ip === 6 ? 6 : 0 } }
}

export function formatHostPort(addr: { host: string; port: number }): string {
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`
}

export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}

export function isLinkLocal(host: string): boolean {
  const lower = host.toLowerCase()
  return lower.startsWith('169.254.') || /^fe[89ab][0-9a-f]:/.test(lower)
}

export interface InterfaceAddress {
  address: string
  family: 'IPv4' | 'IPv6' | 4 | 6
}

/**
 * The addresses a hub bound to `host:port` can be reached on: the host itself, or for a
 * wildcard every interface address of that family except link-local ones (they need a
 * scope id that means nothing on another machine).
 */
export function reachableAddresses(
  bound: { host: string; port: number },
  interfaces: Record<string, InterfaceAddress[] | undefined>,
): string[] {
  if (!isWildcard(bound.host)) return [formatHostPort(bound)]
  const want = isIP(bound.host)
  const out: string[] = []
  for (const list of Object.values(interfaces)) {
    for (const entry of list ?? []) {
      const family = entry.family === 'IPv4' || entry.family === 4 ? 4 : 6
      if (family !== want || isLinkLocal(entry.address)) continue
      out.push(formatHostPort({ host: entry.address, port: bound.port }))
    }
  }
  return out
}
