import { createServer, type Server, type Socket } from 'node:net'
import { HiveError, errorMessage } from '../errors.js'
import { formatHostPort, type HostPort } from '../protocol/address.js'
import type { ServiceName } from '../protocol/services.js'

const LISTEN_BACKLOG = 4096

export interface LocalListener {
  service: ServiceName
  server: Server
  address: HostPort
}

/**
 * Binds one local TCP listener. Sockets arrive paused, so nothing is read from the client
 * before the connection has a stream to go to.
 */
export function listenLocal(
  service: ServiceName,
  at: HostPort,
  option: string,
  onSocket: (socket: Socket) => void,
  onError: (err: Error) => void = () => undefined,
): Promise<LocalListener> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, onSocket)
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = formatHostPort(at)
      if (err.code === 'EADDRINUSE') {
        reject(new HiveError('ADDR_IN_USE', `${where} is already in use (${service}); pick another with ${option}`, { option, address: where }))
      } else {
        reject(new HiveError('ADDR_IN_USE', `cannot listen on ${where} (${service}): ${errorMessage(err)}; pick another with ${option}`, { option, address: where }))
      }
    })
    // Node's default backlog (511) drops part of a burst of new connections; the kernel caps this at somaxconn.
    server.listen({ host: at.host, port: at.port, backlog: LISTEN_BACKLOG }, () => {
      // Once listening, a failed accept (out of file descriptors) is reported, never fatal.
      server.removeAllListeners('error')
      server.on('error', (err) => onError(err))
      const bound = server.address()
      const port = typeof bound === 'object' && bound ? bound.port : at.port
      resolve({ service, server, address: { ...at, port } })
    })
  })
}
