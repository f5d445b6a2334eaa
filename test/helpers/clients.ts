import { createHash } from 'node:crypto'
import { request, Agent } from 'node:http'
import { connect, createServer, type Server, type Socket } from 'node:net'
import WebSocket from 'ws'

export interface HttpResult {
  status: number
  body: Buffer
  ms: number
}

const noKeepAlive = new Agent({ keepAlive: false, maxSockets: Infinity })

export function httpGet(port: number, path: string): Promise<HttpResult> {
  return httpRequest(port, 'GET', path)
}

export function httpRequest(port: number, method: string, path: string, body?: Buffer): Promise<HttpResult> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: noKeepAlive }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), ms: performance.now() - started }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body) req.setHeader('content-length', String(body.length))
    req.end(body)
  })
}

/** Streams a GET body through sha256 without keeping it, with its throughput; rejects if the body is cut short. */
export function httpDownloadSha(port: number, path: string, onProgress?: (bytes: number) => void, host = '127.0.0.1'): Promise<{ sha: string; size: number; mbps: number }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    request({ host, port, path, agent: noKeepAlive }, (res) => {
      const hash = createHash('sha256')
      let size = 0
      res.on('data', (c: Buffer) => {
        hash.update(c)
        size += c.length
        onProgress?.(size)
      })
      res.on('aborted', () => reject(new Error(`the response was cut short after ${size} bytes`)))
      res.on('end', () => resolve({ sha: hash.digest('hex'), size, mbps: size / 1e6 / ((performance.now() - started) / 1000) }))
      res.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
}

export function tcpConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true })
    socket.once('connect', () => {
      socket.off('error', reject)
      resolve(socket)
    })
    socket.once('error', reject)
  })
}

/** Everything the socket sends until EOF; rejects on a reset. */
export function readToEnd(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = []
    socket.on('data', (c: Buffer) => parts.push(c))
    socket.once('end', () => resolve(Buffer.concat(parts)))
    socket.once('error', reject)
    socket.resume()
  })
}

/** How a socket ended: 'end' (FIN), 'reset' (ECONNRESET), or 'close'. */
export function socketOutcome(socket: Socket): Promise<{ outcome: 'end' | 'reset' | 'close'; ms: number }> {
  const started = performance.now()
  return new Promise((resolve) => {
    socket.once('end', () => resolve({ outcome: 'end', ms: performance.now() - started }))
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ outcome: err.code === 'ECONNRESET' ? 'reset' : 'close', ms: performance.now() - started }))
    socket.once('close', () => resolve({ outcome: 'close', ms: performance.now() - started }))
    socket.resume()
  })
}

/** Reads exactly n bytes from a socket. */
export function readBytes(socket: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0)
    const onData = (c: Buffer): void => {
      buffered = Buffer.concat([buffered, c])
      if (buffered.length >= n) {
        socket.off('data', onData)
        socket.off('error', reject)
        socket.pause()
        if (buffered.length > n) socket.unshift(buffered.subarray(n))
        resolve(buffered.subarray(0, n))
      }
    }
    socket.on('data', onData)
    socket.once('error', reject)
    socket.resume()
  })
}

/** Sends `messages` over a WebSocket to an echo service and returns what came back, as text, in order. */
export async function wsEcho(url: string, messages: Array<string | Buffer>): Promise<string[]> {
  const socket = new WebSocket(url)
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
  const received: string[] = []
  const done = new Promise<void>((resolve) =>
    socket.on('message', (data) => {
      received.push(data.toString())
      if (received.length === messages.length) resolve()
    }),
  )
  for (const message of messages) socket.send(message)
  await done
  socket.close()
  return received
}


/**
 * A loopback listener like the peer's (sockets arrive paused, half-open allowed) and one
 * connection to it: the client and the accepted socket. Close `server` when done.
 */
export async function socketPair(): Promise<{ server: Server; client: Socket; accepted: Socket }> {
  let onAccepted!: (socket: Socket) => void
  const accepted = new Promise<Socket>((resolve) => (onAccepted = resolve))
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, onAccepted)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const client = await tcpConnect(typeof address === 'object' && address ? address.port : 0)
  return { server, client, accepted: await accepted }
}
