import { createServer } from 'node:http'

/** The benchmark's HTTP target: a 64-byte keep-alive answer, in its own process. Args: PORT [HOST]. */
const body = Buffer.alloc(64, 'x')
const server = createServer((_req, res) => {
  res.setHeader('content-length', '64')
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen({ host: process.argv[3] ?? '127.0.0.1', port: Number(process.argv[2] ?? 0), backlog: 4096 }, () => {
  const address = server.address()
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`)
})
