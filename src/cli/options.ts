import { z } from 'zod'
import { HiveError } from '../errors.js'
import { parseHostPort, type HostPort } from '../protocol/address.js'
import { NAME_PATTERN, NAME_RULE } from '../protocol/names.js'
import { ALPNS, type AlpnName } from '../protocol/services.js'

/** Every CLI input passes through here; failures are USAGE errors that name the option. */
function usage(message: string): HiveError {
  return new HiveError('USAGE', message)
}

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw usage(`${what}: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  return parsed.data
}

export function parseName(value: string, what: string): string {
  return check(z.string().regex(NAME_PATTERN, `"${value}" is not a valid name (${NAME_RULE})`), value, what)
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

export function parseAnnounce(value: string): string {
  const parsed = parseHostPort(value)
  if (!parsed.ok) throw usage(`--announce "${value}": ${parsed.reason}`)
  return value
}

export function parseAlpn(value: string | undefined): AlpnName | undefined {
  if (value === undefined) return undefined
  return check(z.enum(Object.keys(ALPNS) as [AlpnName, ...AlpnName[]], { message: `must be ${Object.keys(ALPNS).join(' or ')}` }), value, `--alpn "${value}"`)
}

/** Seconds, as `10`, `2.5` or `10s`. */
export function parseSeconds(value: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)s?$/.exec(value.trim())
  const seconds = m ? Number(m[1]) : NaN
  if (!(seconds > 0 && seconds <= 3600)) throw usage(`${option} "${value}": expected a number of seconds between 0 and 3600, such as 10`)
  return seconds
}
