import { createHash, randomBytes } from 'node:crypto'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net'
import { WebSocketServer } from 'ws'

export const BIG = 64 * 1024 * 1024

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

export interface Service {
  port: number
  address: string
  close(): Promise<void>
}

function listen(server: HttpServer | TcpServer, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)))
}

function wrap(server: HttpServer | TcpServer, port: number, sockets: Set<Socket>, host = '127.0.0.1'): Service {
  return {
    port,
    address: `${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

function trackSockets(server: HttpServer | TcpServer): Set<Socket> {
  const sockets = new Set<Socket>()
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  return sockets
}

/** The frontend: an HTML page, and a small JSON answer for concurrency tests. */
export async function startPageServer(): Promise<Service & { connections: () => number }> {
  let connections = 0
  const server = createHttpServer((req, res) => {
    if (req.url?.startsWith('/n/')) {
      res.setHeader('content-type', 'application/json')
      return res.end(JSON.stringify({ n: Number(req.url.slice(3)) }))
    }
    res.setHeader('content-type', 'text/html')
    res.end('<!doctype html><title>hive test page</title><h1>hello from the frontend</h1>')
  })
  server.on('connection', () => connections++)
  const sockets = trackSockets(server)
  return { ...wrap(server, await listen(server), sockets), connections: () => connections }
}

/**
 * The backend: a 64 MiB random download (or its first N bytes, /download/N), an upload whose
 * sha256 it answers with, and /tokens/N: N small lines 5 ms apart, the way a model server streams.
 * `host` is where it listens (a namespace test reaches it over a link of its own).
 */
export async function startBackend(host = '127.0.0.1'): Promise<Service & { body: Buffer; bodySha: string }> {
  const body = randomBytes(BIG)
  const bodySha = sha256(body)
  const server = createHttpServer((req, res) => {
    if (req.method === 'GET' && req.url === '/download') {
      res.setHeader('content-length', String(body.length))
      return res.end(body)
    }
    const part = /^\/download\/(\d+)$/.exec(req.url ?? '')
    if (req.method === 'GET' && part) {
      const slice = body.subarray(0, Number(part[1]))
      res.setHeader('content-length', String(slice.length))
      return res.end(slice)
    }
    const tokens = /^\/tokens\/(\d+)$/.exec(req.url ?? '')
    if (req.method === 'GET' && tokens) {
      let sent = 0
      const timer = setInterval(() => {
        if (sent === Number(tokens[1])) {
          clearInterval(timer)
          return res.end()
        }
        res.write(`token ${sent++}\n`)
      }, 5)
      req.on('close', () => clearInterval(timer))
      return
    }
    if (req.method === 'POST' && req.url === '/upload') {
      const hash = createHash('sha256')
      let size = 0
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk)
        size += chunk.length
      })
      req.on('end', () => res.end(JSON.stringify({ sha256: hash.digest('hex'), size })))
      return
    }
    res.statusCode = 404
    res.end()
  })
  const sockets = trackSockets(server)
  return { ...wrap(server, await listen(server, host), sockets, host), body, bodySha }
}

/** The websocket service: echoes every message. */
export async function startWsEcho(host = '127.0.0.1'): Promise<Service> {
  const http = createHttpServer()
  const wss = new WebSocketServer({ server: http })
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })))
  const sockets = trackSockets(http)
  const port = await listen(http, host)
  const base = wrap(http, port, sockets, host)
  return { ...base, close: () => new Promise((r) => wss.close(() => void base.close().then(() => r()))) }
}

/** A raw TCP service for stream-semantics tests; the handler owns each socket. */
export async function startTcp(handler: (socket: Socket) => void): Promise<Service & { sockets: Set<Socket> }> {
  const server = createTcpServer({ allowHalfOpen: true }, handler)
  const sockets = trackSockets(server)
  return { ...wrap(server, await listen(server), sockets), sockets }
}

/** A loopback port with nothing listening on it. */
export async function deadPort(): Promise<number> {
  const server = createTcpServer()
  const port = await listen(server)
  await new Promise((r) => server.close(r))
  return port
}
