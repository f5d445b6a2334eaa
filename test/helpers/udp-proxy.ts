import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'

/** What happens to packets in one direction. Probabilities are fractions (0.05 = 5%). */
export interface Impairment {
  loss: number
  delayMs: number
  /** Uniform ± jitter on top of the delay; packets may overtake each other. */
  jitterMs: number
  duplicate: number
}

const CLEAN: Impairment = { loss: 0, delayMs: 0, jitterMs: 0, duplicate: 0 }

export interface UdpProxy {
  /** Where peers send: put this in the ticket instead of the hub's own address. */
  address: string
  port: number
  /** Sets the impairment for packets toward the hub, and toward the peer. */
  impair(toHub: Partial<Impairment>, toPeer?: Partial<Impairment>): void
  /** Drops every packet both ways until `restore`. */
  blackout(): void
  restore(): void
  /** Gives every client a new source port toward the hub, as a NAT rebinding does. */
  rebind(): void
  stats(): { forwarded: number; dropped: number; duplicated: number }
  /**
   * Starts noting when the proxy itself stands still (this test process is busy, or the
   * machine is): packets then wait in the socket buffer, as on a link with a jitter spike.
   */
  watchPauses(): void
  /** Pauses of 10 ms or more since `since` (Date.now() time), in ms. */
  pausesSince(since: number): number[]
  close(): void
}

/**
 * A UDP relay between peers and a hub on loopback that loses, delays, jitters, duplicates
 * or blacks out packets, so the tunnel meets a bad network in a test. Each client gets its
 * own socket toward the hub, as behind a NAT.
 */
export async function startUdpProxy(hubPort: number, hubHost = '127.0.0.1'): Promise<UdpProxy> {
  const front = createSocket('udp4')
  const flows = new Map<string, { upstream: Socket; client: RemoteInfo }>()
  let toHub = { ...CLEAN }
  let toPeer = { ...CLEAN }
  let dark = false
  const counts = { forwarded: 0, dropped: 0, duplicated: 0 }
  const timers = new Set<NodeJS.Timeout>()
  const pauses: { at: number; ms: number }[] = []
  let ticker: NodeJS.Timeout | null = null

  const send = (socket: Socket, packet: Buffer, port: number, host: string, how: Impairment): void => {
    if (dark || Math.random() < how.loss) {
      counts.dropped++
      return
    }
    const copies = Math.random() < how.duplicate ? 2 : 1
    if (copies === 2) counts.duplicated++
    for (let i = 0; i < copies; i++) {
      const wait = how.delayMs + (how.jitterMs > 0 ? (Math.random() * 2 - 1) * how.jitterMs : 0)
      const go = (): void => {
        counts.forwarded++
        socket.send(packet, port, host, () => undefined)
      }
      if (wait <= 0) go()
      else {
        const timer = setTimeout(() => {
          timers.delete(timer)
          go()
        }, wait)
        timers.add(timer)
      }
    }
  }

  const upstreamFor = (client: RemoteInfo): Socket => {
    const key = `${client.address}:${client.port}`
    let flow = flows.get(key)
    if (!flow) {
      flow = { upstream: openUpstream(client), client }
      flows.set(key, flow)
    }
    return flow.upstream
  }

  const openUpstream = (client: RemoteInfo): Socket => {
    const upstream = createSocket('udp4')
    upstream.on('error', () => undefined)
    upstream.on('message', (packet) => send(front, packet, client.port, client.address, toPeer))
    upstream.bind(0, '127.0.0.1')
    return upstream
  }

  front.on('error', () => undefined)
  front.on('message', (packet, client) => send(upstreamFor(client), packet, hubPort, hubHost, toHub))
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve))
  const port = front.address().port

  return {
    address: `127.0.0.1:${port}`,
    port,
    impair(hub, peer = hub) {
      toHub = { ...CLEAN, ...hub }
      toPeer = { ...CLEAN, ...peer }
    },
    blackout: () => void (dark = true),
    restore: () => void (dark = false),
    rebind() {
      for (const flow of flows.values()) {
        const old = flow.upstream
        flow.upstream = openUpstream(flow.client)
        old.close()
      }
    },
    stats: () => ({ ...counts }),
    watchPauses() {
      let tick = performance.now()
      ticker ??= setInterval(() => {
        const now = performance.now()
        if (now - tick >= 10) pauses.push({ at: Date.now(), ms: Math.round(now - tick) })
        tick = now
      }, 1)
    },
    pausesSince: (since) => pauses.filter((p) => p.at >= since).map((p) => p.ms),
    close() {
      if (ticker) clearInterval(ticker)
      for (const timer of timers) clearTimeout(timer)
      for (const flow of flows.values()) flow.upstream.close()
      front.close()
    },
  }
}
