import type { Logger } from 'pino'
import { WebSocket, type RawData } from 'ws'
import type { MailboxLimits } from './limits.js'
import { Session } from './session.js'
import type { MailboxStore } from './store.js'

interface Connection {
  ws: WebSocket
  address: string
  session: Session
  /** When the last frame of any kind (pongs included) arrived, in ms. */
  lastHeard: number
}

/**
 * The WebSocket connections: how many there are (overall and per address), whether each is
 * still alive, and whether it reads what it is sent. A connection costs at most what the
 * limits allow, however its client behaves.
 */
export class ConnectionTable {
  private readonly connections = new Set<Connection>()
  private readonly perAddress = new Map<string, number>()

  constructor(
    private readonly store: MailboxStore,
    private readonly limits: MailboxLimits,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.connections.size
  }

  /** Takes a new WebSocket, or tells it in the welcome that the server is busy, and closes it. */
  admit(ws: WebSocket, address: string): void {
    ws.on('error', (err) => this.log.debug({ err: err.message, address }, 'connection failed'))
    const busy = this.connections.size >= this.limits.maxConnections || (this.perAddress.get(address) ?? 0) >= this.limits.maxConnectionsPerAddress
    if (busy) {
      this.log.debug({ address, connections: this.connections.size }, 'connection refused: too many')
      // The stock clients show a welcome error to their user and stop, where a bare close would be retried.
      new Session(this.store, (text) => ws.send(text), this.log).welcome({ error: 'this mailbox server has too many connections now; try again later' })
      ws.close(1013, 'too many connections')
      return
    }
    const connection: Connection = { ws, address, lastHeard: Date.now(), session: new Session(this.store, (text) => this.write(connection, text), this.log) }
    this.connections.add(connection)
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1)
    const heard = (): void => void (connection.lastHeard = Date.now())
    ws.on('pong', heard)
    ws.on('ping', heard)
    ws.on('message', (data, isBinary) => {
      heard()
      this.receive(connection, data, isBinary)
    })
    ws.on('close', () => this.forget(connection))
    connection.session.welcome()
  }

  /** Closes connections nothing came from for too long, and pings the others, whose pongs count as life. */
  tick(now: number): void {
    for (const connection of this.connections) {
      if (now - connection.lastHeard >= this.limits.idleTimeoutMs) {
        this.log.debug({ address: connection.address }, 'connection idle: closed')
        connection.ws.terminate()
      } else if (connection.ws.readyState === WebSocket.OPEN) {
        connection.ws.ping()
      }
    }
  }

  /** Says goodbye to every client; resolves once all are gone, ending those that do not answer after `graceMs`. */
  async closeAll(graceMs: number): Promise<void> {
    const all = [...this.connections]
    const closed = all.map((c) => new Promise<void>((resolve) => (c.ws.readyState === WebSocket.CLOSED ? resolve() : c.ws.once('close', () => resolve()))))
    for (const c of all) c.ws.close(1001, 'server stopping')
    const timer = setTimeout(() => all.forEach((c) => c.ws.terminate()), graceMs)
    await Promise.all(closed)
    clearTimeout(timer)
  }

  private receive(connection: Connection, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      // The protocol is JSON in text frames; a binary frame means a client of something else.
      connection.session.refuse('binary frames are not supported')
      connection.ws.close(1003, 'binary frames are not supported')
      return
    }
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8')
    try {
      connection.session.receive(text)
    } catch (err) {
      // A bug here must cost one connection, not the server and everyone on it.
      this.log.error({ err }, 'mailbox request failed')
      connection.ws.close(1011, 'internal error')
    }
  }

  /** Sends, unless the client has stopped reading: its backlog would grow with every message. */
  private write(connection: Connection, text: string): void {
    const { ws } = connection
    if (ws.readyState !== WebSocket.OPEN) return
    ws.send(text)
    if (ws.bufferedAmount > this.limits.maxBufferedBytes) {
      this.log.debug({ address: connection.address, buffered: ws.bufferedAmount }, 'connection does not read: closed')
      ws.terminate()
    }
  }

  private forget(connection: Connection): void {
    if (!this.connections.delete(connection)) return
    connection.session.end()
    const left = (this.perAddress.get(connection.address) ?? 1) - 1
    if (left > 0) this.perAddress.set(connection.address, left)
    else this.perAddress.delete(connection.address)
  }
}
