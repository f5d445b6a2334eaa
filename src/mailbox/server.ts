import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Logger } from 'pino'
import { WebSocketServer } from 'ws'
import { HiveError, errorMessage } from '../errors.js'
import { formatHostPort } from '../protocol/address.js'
import { ConnectionTable } from './connections.js'
import { resolveLimits, type MailboxLimits } from './limits.js'
import { MailboxStore, type StoreStats } from './store.js'

export interface MailboxServerOptions {
  /** IP address to listen on. */
  host: string
  /** TCP port; 0 picks a free one (see `port` on the result). */
  port: number
  logger: Logger
  /** Overrides of DEFAULT_MAILBOX_LIMITS. */
  limits?: Partial<MailboxLimits>
}

export interface MailboxServer {
  host: string
  port: number
  /** What clients are given: `ws://HOST:PORT/v1`. */
  url: string
  stats(): StoreStats & { connections: number }
  /** Closes every connection and forgets everything; safe to call twice. */
  close(): Promise<void>
}

/** The WebSocket path, as on Debian's server: the stock clients' URLs end in it. */
const PATH = '/v1'
/** TCP connections beyond the WebSocket limit, so that the one over it can be told why in a welcome. */
const TCP_SLACK = 32
/** How long clients get to answer the closing handshake when the server stops. */
const CLOSE_GRACE_MS = 500

/**
 * A Magic Wormhole mailbox (rendezvous) server, in memory, that the stock clients (Python
 * `wormhole`, wormhole-william, hive itself) can use. It never prints and never exits: it
 * logs to `logger` and reports failure to start as a HiveError.
 */
export async function startMailboxServer(options: MailboxServerOptions): Promise<MailboxServer> {
  const limits = resolveLimits(options.limits)
  const log = options.logger.child({ component: 'mailbox' })
  const store = new MailboxStore(limits)
  const table = new ConnectionTable(store, limits, log)
  const http = createServer({
    // A client that connects and never finishes its upgrade holds a socket; this bounds how long.
    headersTimeout: limits.handshakeTimeoutMs,
    requestTimeout: limits.handshakeTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.handshakeTimeoutMs),
    maxHeaderSize: 8192,
  })
  http.maxConnections = limits.maxConnections + TCP_SLACK
  http.on('request', (_req, res) => {
    res.writeHead(404, { 'content-type': 'text/plain', connection: 'close' })
    res.end(`a Magic Wormhole mailbox server: connect a WebSocket to ${PATH}\n`)
  })
  http.on('clientError', (_err, socket: Socket) => socket.destroy())
  // No compression: an inflated frame could be far larger than the bytes that carried it.
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes, perMessageDeflate: false, clientTracking: false })
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => undefined)
    const path = (req.url ?? '').split('?')[0]
    if (path !== PATH && path !== `${PATH}/`) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => table.admit(ws, req.socket.remoteAddress ?? 'unknown'))
  })

  const where = formatHostPort({ host: options.host, port: options.port })
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen({ host: options.host, port: options.port }, () => {
      http.off('error', reject)
      resolve()
    })
  }).catch((err: NodeJS.ErrnoException) => {
    const why = err.code === 'EADDRINUSE' ? 'the port is already in use' : errorMessage(err)
    throw new HiveError('ADDR_IN_USE', `cannot run the wormhole mailbox on TCP ${where}: ${why}`, { address: where }, { cause: err })
  })
  http.on('error', (err) => log.warn({ err: errorMessage(err) }, 'mailbox server error'))

  const ticker = setInterval(() => table.tick(Date.now()), limits.pingIntervalMs).unref()
  const sweeper = setInterval(() => {
    const gone = store.sweep(Date.now())
    if (gone.mailboxes + gone.nameplates > 0) log.debug({ ...gone, ...store.stats() }, 'expired unused mailboxes and nameplates')
  }, limits.sweepIntervalMs).unref()

  const port = (http.address() as AddressInfo).port
  const address = formatHostPort({ host: options.host, port })
  log.info({ address, limits }, 'mailbox server listening')
  let closing: Promise<void> | null = null
  return {
    host: options.host,
    port,
    url: `ws://${address}${PATH}`,
    stats: () => ({ ...store.stats(), connections: table.size }),
    close() {
      closing ??= (async () => {
        clearInterval(ticker)
        clearInterval(sweeper)
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()))
        http.closeAllConnections()
        await table.closeAll(CLOSE_GRACE_MS)
        await stopped
        log.info('mailbox server stopped')
      })()
      return closing
    },
  }
}
