import { HiveError } from '../errors.js'
import type { HostPort } from '../protocol/address.js'
import { NAME_RULE, isValidName } from '../protocol/names.js'
import { LEGACY_SERVICES, MAX_SERVICES, type ServiceName } from '../protocol/services.js'
import { printable } from '../printable.js'
import { parseName, parseServiceAddress } from './options.js'

export interface ShareArgs {
  name: string
  /** In the order given: port ids go out in this order. */
  services: Record<ServiceName, HostPort>
}

const usage = (message: string): HiveError => new HiveError('USAGE', message)
const FORMS = 'hive share NAME SERVICE=HOST:PORT... (e.g. hive share my-hub web=127.0.0.1:3000), or the older FRONTEND BACKEND WEBSOCKET NAME'

/**
 * `hive share`'s arguments: `NAME SERVICE=HOST:PORT...`, or the first protocol's
 * `FRONTEND BACKEND WEBSOCKET NAME`, told apart by the `=` that only the named form has.
 */
export function parseShareArgs(args: readonly string[]): ShareArgs {
  const named = args.some((a) => a.includes('='))
  if (!named && args.length === 4) {
    const services: Record<ServiceName, HostPort> = {}
    LEGACY_SERVICES.forEach((service, i) => {
      const target = parseServiceAddress(args[i]!, `${service} address`)
      if (target) services[service] = target
    })
    if (Object.keys(services).length === 0) throw usage('every service is "-": share at least one')
    return { name: parseName(args[3]!, 'hub name'), services }
  }
  if (!named) throw usage(`no service to share: ${FORMS}`)
  const [first, ...rest] = args
  if (first!.includes('=')) throw usage(`the hub's name comes first, then the services: ${FORMS}`)
  if (rest.length > MAX_SERVICES) throw usage(`${rest.length} services: a hub shares at most ${MAX_SERVICES}`)
  const services: Record<ServiceName, HostPort> = {}
  for (const arg of rest) {
    const eq = arg.indexOf('=')
    const shown = printable(arg, 80)
    if (eq < 0) throw usage(`"${shown}": expected SERVICE=HOST:PORT, e.g. web=127.0.0.1:3000`)
    const service = arg.slice(0, eq)
    if (!isValidName(service)) throw usage(`"${shown}": the service name must be ${NAME_RULE}`)
    if (Object.hasOwn(services, service)) throw usage(`${service} is given twice: give each service once`)
    const target = parseServiceAddress(arg.slice(eq + 1), `${service} address`)
    if (!target) throw usage(`"${shown}": give the address the service listens on (leave a service out by not naming it)`)
    services[service] = target
  }
  return { name: parseName(first!, 'hub name'), services }
}
