import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net'

/**
 * The three small services `hive demo` shares: a web page, an API that streams tokens the way
 * a model server does, and a TCP echo for `nc`. Loopback only, free ports.
 */
export interface DemoServices {
  web: number
  api: number
  echo: number
  close(): Promise<void>
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>hive demo</title>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Hello through hive</h1>
<p>This page came from a web server on the hub's side, through a QUIC tunnel, to the peer's
local port you opened.</p>
<p>The API streams tokens as it makes them, like a model server: <code>curl -N</code> the
<code>/stream</code> URL that <code>hive demo</code> printed.</p>
</body>
`

const TOKENS = 'hive carries each token to you as soon as the service writes it , one QUIC stream per TCP connection .'.split(' ')

function listen(server: HttpServer | TcpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))
  })
}

export async function startDemoServices(): Promise<DemoServices> {
  const web = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE))
  const api = createHttpServer((req, res) => {
    if (req.url !== '/stream') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hello: 'from the api', try: '/stream' }) + '\n')
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
    let i = 0
    const timer = setInterval(() => {
      if (i === TOKENS.length) {
        clearInterval(timer)
        return void res.end('\n')
      }
      res.write(`${TOKENS[i++]} `)
    }, 60)
    res.on('close', () => clearInterval(timer))
  })
  const echo = createTcpServer((socket) => {
    socket.on('error', () => undefined)
    socket.pipe(socket)
  })
  const servers = [web, api, echo]
  try {
    const [webPort, apiPort, echoPort] = await Promise.all(servers.map(listen))
    return {
      web: webPort!,
      api: apiPort!,
      echo: echoPort!,
      async close() {
        await Promise.all(servers.map((s) => new Promise((resolve) => (s.close(resolve), 'closeAllConnections' in s && s.closeAllConnections()))))
      },
    }
  } catch (err) {
    for (const s of servers) s.close()
    throw err
  }
}
