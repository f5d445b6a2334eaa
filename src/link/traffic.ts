import type { ServiceName } from '../protocol/services.js'

/** One service's figures: streams open now, and bytes over the tunnel so far, each way. */
export interface ServiceTraffic {
  streams: number
  /** From the other side of the tunnel. */
  bytesIn: number
  /** To the other side of the tunnel. */
  bytesOut: number
}

/**
 * What a hub or a peer has carried, per service, for the live view and `stats` events. In and
 * out are seen from this process: in comes over the tunnel, out goes into it.
 */
export class Traffic {
  private readonly services = new Map<ServiceName, ServiceTraffic>()

  private of(service: ServiceName): ServiceTraffic {
    let t = this.services.get(service)
    if (!t) this.services.set(service, (t = { streams: 0, bytesIn: 0, bytesOut: 0 }))
    return t
  }

  /** A stream of this service opened: returns its meter for `pipe`, and the call that marks it closed. */
  open(service: ServiceName): { meter: (direction: 'in' | 'out', bytes: number) => void; close: () => void } {
    const t = this.of(service)
    t.streams++
    let closed = false
    return {
      meter: (direction, bytes) => void (direction === 'in' ? (t.bytesIn += bytes) : (t.bytesOut += bytes)),
      close: () => {
        if (!closed) t.streams--
        closed = true
      },
    }
  }

  /** Totals and a copy per service. */
  snapshot(): ServiceTraffic & { services: Record<ServiceName, ServiceTraffic> } {
    const services: Record<ServiceName, ServiceTraffic> = {}
    const total = { streams: 0, bytesIn: 0, bytesOut: 0 }
    for (const [name, t] of this.services) {
      services[name] = { ...t }
      total.streams += t.streams
      total.bytesIn += t.bytesIn
      total.bytesOut += t.bytesOut
    }
    return { ...total, services }
  }
}
