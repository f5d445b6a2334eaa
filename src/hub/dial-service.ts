import { connect, type Socket } from 'node:net'
import { HiveError, errorMessage } from '../errors.js'
import { formatHostPort, type HostPort } from '../protocol/address.js'

/**
 * Connects to a shared service; rejects with a reason a warning can name. The socket has an
 * error listener from birth to its end: a service that resets right after accepting must
 * not find a moment (such as the ACK write before the pipe starts) when nobody listens.
 * The pipe sees such a socket as destroyed and resets the stream.
 */
export function dialService(target: HostPort, timeoutMs: number): Promise<Socket> {
  const where = formatHostPort(target)
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new HiveError('TIMEOUT', `${where} did not accept within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    const onConnectError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer)
      reject(new HiveError('INTERNAL', err.code === 'ECONNREFUSED' ? `${where} refused the connection` : `${where}: ${errorMessage(err)}`))
    }
    socket.on('error', onConnectError)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.off('error', onConnectError)
      socket.on('error', () => undefined)
      resolve(socket)
    })
  })
}
