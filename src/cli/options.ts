import { HiveError } from '../errors.js'
import { parseHostPort, type HostPort } from '../protocol/address.js'
import { NAME_PATTERN, NAME_RULE } from '../protocol/names.js'
import { ALPNS, type AlpnName } from '../protocol/services.js'
import { MAX_ADDRESS_BYTES, MAX_ADDRESSES } from '../protocol/ticket.js'
import { parseCode } from '../wormhole/code.js'
import { printable } from '../printable.js'

/** Every CLI input passes through here; failures are USAGE errors that name the option. */
function usage(message: string): HiveError {
  return new HiveError('USAGE', message)
}

export function parseName(value: string, what: string): string {
  if (!NAME_PATTERN.test(value)) throw usage(`${what}: "${value}" is not a valid name (${NAME_RULE})`)
  return value
}

/** A service address: HOST:PORT, [V6]:PORT, or "-" for "not this one" (null). */
export function parseServiceAddress(value: string, what: string, opts: { allowPortZero?: boolean } = {}): HostPort | null {
  if (value === '-') return null
  const parsed = parseHostPort(value, opts)
  if (!parsed.ok) throw usage(`${what} "${value}": ${parsed.reason}`)
  return parsed.value
}

export function parseBindAddress(value: string, option: string, family: 4 | 6): HostPort {
  const parsed = parseHostPort(value, { allowPortZero: true })
  if (!parsed.ok) throw usage(`${option} "${value}": ${parsed.reason}`)
  if (parsed.value.family !== family) throw usage(`${option} "${value}": expected an IPv${family} address`)
  return parsed.value
}

/** Every --announce: each a HOST:PORT that fits in a ticket field, and no more than a ticket lists. */
export function parseAnnounce(values: string[]): string[] {
  if (values.length > MAX_ADDRESSES) throw usage(`--announce was given ${values.length} times; a ticket lists at most ${MAX_ADDRESSES} addresses`)
  return values.map((value) => {
    const shown = printable(value, 60)
    if (Buffer.byteLength(value) > MAX_ADDRESS_BYTES) throw usage(`--announce "${shown}": longer than the ${MAX_ADDRESS_BYTES} bytes a ticket holds for an address`)
    const parsed = parseHostPort(value)
    if (!parsed.ok) throw usage(`--announce "${shown}": ${parsed.reason}`)
    return value
  })
}

export function parseAlpn(value: string | undefined): AlpnName | undefined {
  if (value === undefined) return undefined
  if (!Object.hasOwn(ALPNS, value)) throw usage(`--alpn "${value}": must be ${Object.keys(ALPNS).join(' or ')}`)
  return value as AlpnName
}

/** Seconds, as `10`, `2.5`, `10s` or `10m`, above 0 or at least `minSeconds`. */
export function parseSeconds(value: string, option: string, maxSeconds = 3600, minSeconds = 0): number {
  const m = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(value.trim())
  const seconds = m ? Number(m[1]) * (m[2] === 'm' ? 60 : 1) : NaN
  if (!(seconds > 0 && seconds >= minSeconds && seconds <= maxSeconds)) {
    const floor = minSeconds > 0 ? `at least ${minSeconds} s` : 'above 0'
    throw usage(`${option} "${printable(value, 40)}": expected a duration ${floor} and at most ${maxSeconds} s, such as 10, 90s or 10m`)
  }
  return seconds
}

/** A whole number within bounds, for options such as --max-peers. */
export function parseCount(value: string, option: string, min: number, max: number): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : NaN
  if (!(n >= min && n <= max)) throw usage(`${option} "${printable(value, 40)}": expected a whole number from ${min} to ${max}`)
  return n
}

export function parseCodeLength(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN
  // One word is 256 codes: guessed in minutes even with the backoff. Two words is the least.
  if (!(n >= 2 && n <= 8)) throw usage(`--code-length "${printable(value, 40)}": expected a whole number of words from 2 to 8`)
  return n
}

export function parseRelayUrl(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw usage(`--wormhole-relay "${value}": not a URL; expected ws://HOST:PORT/v1 or wss://…`)
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw usage(`--wormhole-relay "${value}": expected a ws:// or wss:// URL`)
  return value
}

export function parseJoinCode(value: string): string {
  const parsed = parseCode(value)
  if (!parsed.ok) throw usage(`--join-code "${value}": ${parsed.reason}`)
  return value
}

/** `--stats-interval`: seconds between `stats` events, or 0 for none. */
export function parseStatsInterval(value: string): number {
  return value.trim() === '0' ? 0 : parseSeconds(value, '--stats-interval', 3600, 1)
}
