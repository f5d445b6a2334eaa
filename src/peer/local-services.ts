import type { Socket } from 'node:net'
import { errorMessage } from '../errors.js'
import { formatHostPort, type HostPort } from '../protocol/address.js'
import type { ServiceEntry, ServiceName } from '../protocol/services.js'
import { listenLocal, type LocalListener } from './listeners.js'

export interface LocalServicesOptions {
  /** Services the user placed (`--expose`), bound before the hub is dialled: a busy address is theirs to fix. */
  expose: Readonly<Record<ServiceName, HostPort>>
  /** Services not to expose at all (`--skip`). */
  skip: ReadonlySet<ServiceName>
  /** Where the others go: this host, at the port the service has on the hub's side, or a free one. */
  defaultHost: HostPort['host']
  /** The option that places each service, named in "address in use" errors. */
  optionNames: Readonly<Record<ServiceName, string>>
  onSocket(service: ServiceName, socket: Socket): void
  warn(message: string, service: ServiceName): void
}

/**
 * The peer's local listeners, one per service the hub shares. They live as long as the peer;
 * each welcome's table may add services (a hub that restarted with more), never removes one:
 * a connection to a service the hub dropped is refused by the session.
 */
export class LocalServices {
  private readonly listeners = new Map<ServiceName, LocalListener>()
  /** One follow at a time: two welcomes in a row must not bind one service twice. */
  private following: Promise<void> = Promise.resolve()

  constructor(private readonly options: LocalServicesOptions) {}

  /** Where each service is exposed. */
  get addresses(): Record<ServiceName, HostPort> {
    return Object.fromEntries([...this.listeners].map(([name, l]) => [name, l.address]))
  }

  /** Binds the services the user placed; throws ADDR_IN_USE for a busy address. */
  async bindGiven(): Promise<void> {
    for (const [service, at] of Object.entries(this.options.expose)) {
      if (this.options.skip.has(service)) continue
      this.listeners.set(service, await this.listen(service, at))
    }
  }

  /**
   * Binds what the hub's table adds. A placed service the hub does not share is let go, with
   * a warning (`first`: only on joining, since a hub met again later may share less for now).
   * A default address that cannot be had (taken, or a port below 1024) gives way to a free port.
   */
  follow(table: readonly ServiceEntry[], first: boolean): Promise<void> {
    const next = this.following.then(() => this.bindTable(table, first))
    this.following = next.catch(() => undefined)
    return next
  }

  private async bindTable(table: readonly ServiceEntry[], first: boolean): Promise<void> {
    const shared = new Set(table.map((e) => e.name))
    if (first) {
      for (const [service, l] of this.listeners) {
        if (shared.has(service)) continue
        l.server.close()
        this.listeners.delete(service)
        this.options.warn(`the hub does not share \`${service}\`: ${this.options.optionNames[service] ?? '--expose'} was left unused`, service)
      }
    }
    for (const entry of table) {
      if (this.listeners.has(entry.name) || this.options.skip.has(entry.name)) continue
      const wanted: HostPort = { host: this.options.defaultHost, port: entry.port, family: this.options.defaultHost.includes(':') ? 6 : 4 }
      try {
        this.listeners.set(entry.name, await this.listen(entry.name, wanted))
      } catch {
        const l = await this.listen(entry.name, { ...wanted, port: 0 })
        this.listeners.set(entry.name, l)
        this.options.warn(`${entry.name}: ${formatHostPort(wanted)} is taken here (or needs root); listening on ${formatHostPort(l.address)} instead`, entry.name)
      }
    }
  }

  close(): void {
    for (const l of this.listeners.values()) l.server.close()
  }

  private listen(service: ServiceName, at: HostPort): Promise<LocalListener> {
    const option = this.options.optionNames[service] ?? `--expose ${service}=HOST:PORT`
    return listenLocal(service, at, option, (socket) => this.options.onSocket(service, socket), (err) => {
      this.options.warn(`the local ${service} listener could not accept a connection: ${errorMessage(err)}`, service)
    })
  }
}
