import { HiveError } from '../errors.js'
import { formatHostPort, type HostPort } from '../protocol/address.js'
import { NAME_RULE, isValidName } from '../protocol/names.js'
import type { ServiceName } from '../protocol/services.js'
import { printable } from '../printable.js'
import { parseServiceAddress } from './options.js'

/** The options of the first protocol's three services, still taken as aliases of --expose and --skip. */
const ALIASES = [
  ['--frontend-addr', 'frontend', 'frontendAddr'],
  ['--backend-addr', 'backend', 'backendAddr'],
  ['--ws-addr', 'websocket', 'wsAddr'],
] as const

export interface Exposure {
  expose: Record<ServiceName, HostPort>
  skip: ServiceName[]
  /** The option that placed each service, for "address in use" errors. */
  optionNames: Record<ServiceName, string>
}

function serviceName(name: string, option: string, value: string): ServiceName {
  if (!isValidName(name)) throw new HiveError('USAGE', `${option} "${printable(value, 80)}": the service name must be ${NAME_RULE}`)
  return name
}

/** `--expose SVC=HOST:PORT`, `--skip SVC` and the aliases, checked against each other. */
export function parseExposure(opts: { expose: string[]; skip: string[]; frontendAddr?: string; backendAddr?: string; wsAddr?: string }): Exposure {
  const out: Exposure = { expose: {}, skip: [], optionNames: {} }
  const place = (service: ServiceName, value: string, option: string, what: string): void => {
    if (Object.hasOwn(out.optionNames, service)) throw new HiveError('USAGE', `${service} is placed twice (${out.optionNames[service]} and ${option}): give one`)
    out.optionNames[service] = option
    const at = parseServiceAddress(value, what, { allowPortZero: true })
    if (at) out.expose[service] = at
    else out.skip.push(service)
  }
  for (const value of opts.expose) {
    const eq = value.indexOf('=')
    if (eq < 0) throw new HiveError('USAGE', `--expose "${printable(value, 80)}": expected SERVICE=HOST:PORT, e.g. --expose web=127.0.0.1:8080`)
    const service = serviceName(value.slice(0, eq), '--expose', value)
    place(service, value.slice(eq + 1), `--expose ${service}=`, `--expose ${service}`)
  }
  for (const [option, service, key] of ALIASES) {
    const value = opts[key]
    if (value !== undefined) place(service, value, option, option)
  }
  for (const value of opts.skip) {
    const service = serviceName(value, '--skip', value)
    if (Object.hasOwn(out.expose, service)) throw new HiveError('USAGE', `--skip ${service} contradicts ${out.optionNames[service]}: give one`)
    if (!out.skip.includes(service)) out.skip.push(service)
  }
  return out
}

/** How a banner shows a service's local address: a URL for the first protocol's three, where the scheme is known. */
export function serviceUrl(service: ServiceName, at: HostPort): string {
  const scheme = service === 'websocket' ? 'ws://' : service === 'frontend' || service === 'backend' ? 'http://' : ''
  return `${scheme}${formatHostPort(at)}`
}
