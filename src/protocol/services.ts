import { NAME_PATTERN } from './names.js'

/**
 * A service's name: the hub's choice, by the rule of hub names (NAME_PATTERN). The first
 * protocol knew only three, and a peer of that time still asks for them by these port ids.
 */
export type ServiceName = string
export const LEGACY_SERVICES = ['frontend', 'backend', 'websocket'] as const
export const LEGACY_PORT_IDS: Readonly<Record<string, number>> = { frontend: 0x01, backend: 0x02, websocket: 0x03 }
/** The local ports a peer of the first protocol bound for them, used against hubs that send no table. */
export const LEGACY_LOCAL_PORTS: Readonly<Record<string, number>> = { frontend: 3000, backend: 8000, websocket: 4000 }
/** Port id 0 is the control stream; each service takes one of the other 255. */
export const MAX_SERVICES = 255

/** One shared service as a hub describes it to peers: its name, port id, and its own port number. */
export interface ServiceEntry {
  name: ServiceName
  id: number
  port: number
}

/**
 * Gives each service its port id: frontend, backend and websocket keep 1, 2 and 3, so that
 * a peer that knows only those still works; the others take 4, 5, ... in the order given,
 * and then whatever ids remain. Names must be valid and distinct (callers check for the user).
 */
export function assignPortIds(services: readonly { name: ServiceName; port: number }[]): ServiceEntry[] {
  if (services.length > MAX_SERVICES) throw new RangeError(`at most ${MAX_SERVICES} services`)
  if (new Set(services.map((s) => s.name)).size !== services.length) throw new RangeError('service names must be distinct')
  const taken = new Set(services.map((s) => LEGACY_PORT_IDS[s.name]).filter((id) => id !== undefined))
  const free = [...Array.from({ length: MAX_SERVICES - 3 }, (_, i) => i + 4), 1, 2, 3].filter((id) => !taken.has(id))
  return services.map(({ name, port }) => {
    if (!NAME_PATTERN.test(name)) throw new RangeError(`not a valid service name: ${name}`)
    return { name, id: LEGACY_PORT_IDS[name] ?? free.shift()!, port }
  })
}

/** What a peer assumes of a hub that sends no table: the three services of the first protocol. */
export const LEGACY_TABLE: readonly ServiceEntry[] = LEGACY_SERVICES.map((name) => ({ name, id: LEGACY_PORT_IDS[name]!, port: LEGACY_LOCAL_PORTS[name]! }))

/** The protocol names `--alpn` accepts, and the strings carried in the hello. */
export const ALPNS = {
  hivemind: 'HIVEMIND/1.0.0',
  'federated-hivemind': 'HIVEMIND-FEDERATED/1.0.0',
} as const
export type AlpnName = keyof typeof ALPNS
export type AlpnString = (typeof ALPNS)[AlpnName]

export function alpnNameOf(value: string): AlpnName | undefined {
  return (Object.keys(ALPNS) as AlpnName[]).find((name) => ALPNS[name] === value)
}
