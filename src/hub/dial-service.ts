import { connect, type Socket } from 'node:net'
import { HiveError, errorMessage } from '../errors.js'
import { formatHostPort, type HostPort } from '../protocol/address.js'

/** Connects to a shared service; rejects with a reason a warning can name. */
export function dialService(target: HostPort, timeoutMs: number): Promise<Socket> {
  const where = formatHostPort(target)
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: target.host, port: target.port, allowHalfOpen: true, noDelay: true })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new HiveError('TIMEOUT', `${where} did not accept within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.removeAllListeners('error')
      resolve(socket)
    })
    socket.once('error', (err) => {
      clearTimeout(timer)
      const code = (err as NodeJS.ErrnoException).code
      reject(new HiveError('INTERNAL', code === 'ECONNREFUSED' ? `${where} refused the connection` : `${where}: ${errorMessage(err)}`))
    })
  })
}
