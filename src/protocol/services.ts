/** The three services a hub shares, with the port id each travels under on the wire. */
export const SERVICES = ['frontend', 'backend', 'websocket'] as const
export type ServiceName = (typeof SERVICES)[number]

export const PORT_IDS: Readonly<Record<ServiceName, number>> = {
  frontend: 0x01,
  backend: 0x02,
  websocket: 0x03,
}

export function serviceForPortId(portId: number): ServiceName | undefined {
  return SERVICES.find((name) => PORT_IDS[name] === portId)
}

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
