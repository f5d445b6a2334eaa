import { createServer, type Server } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { httpGet } from '../helpers/clients.js'
import { killAll, runHive, type HiveProcess } from '../helpers/hive.js'
import { getThroughStream, helloFor, rawFrame, rawPeer, readFrame } from '../helpers/raw-peer.js'

/** Named services end to end: the built hive, real HTTP servers that say who they are. */
const servers: Server[] = []

async function named(name: string, host = '127.0.0.1'): Promise<number> {
  const server = createServer((_req, res) => res.end(`this is ${name}`))
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  servers.push(server)
  return (server.address() as { port: number }).port
}

const HUB = ['--ephemeral', '--json', '--ipv4-addr', '127.0.0.1:0', '--dht-bootstrap', 'none']
const portOf = (address: string): number => Number(address.split(':').pop())

async function share(args: string[]): Promise<{ hub: HiveProcess; ticket: string; ready: Record<string, unknown> }> {
  const hub = runHive(['share', ...args, ...HUB])
  const ready = await hub.waitEvent('hub_ready')
  return { hub, ticket: ready.ticket as string, ready }
}

function join(ticket: string, extra: string[] = []): HiveProcess {
  return runHive(['join', 'svc-peer', '--ticket', '-', '--json', '--dht-bootstrap', 'none', ...extra], { stdin: ticket })
}

afterEach(async () => {
  await killAll()
})
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

describe('named services', () => {
  it('five services by name: the peer exposes each, and each reaches its own server', async () => {
    const names = ['ollama', 'web', 'api', 'metrics', 'db-admin']
    const ports = await Promise.all(names.map((n) => named(n)))
    const { ready, ticket, hub } = await share(['five-hub', ...names.map((n, i) => `${n}=127.0.0.1:${ports[i]}`)])
    expect(Object.keys(ready.services as object)).toEqual(names)
    for (const n of names) expect(hub.stderr).toMatch(new RegExp(`^  ${n} +127\\.0\\.0\\.1:\\d+$`, 'm'))
    const peer = join(ticket)
    const joined = await peer.waitEvent('join_ready')
    const exposed = joined.services as Record<string, string>
    expect(Object.keys(exposed).sort()).toEqual([...names].sort())
    for (const n of names) {
      // The service's own port is taken on this machine (by the service): the peer picked another and said so.
      expect(portOf(exposed[n]!)).not.toBe(ports[names.indexOf(n)])
      expect(peer.stderr).toMatch(new RegExp(`warning: ${n}: 127\\.0\\.0\\.1:${ports[names.indexOf(n)]} is taken here`))
      const res = await httpGet(portOf(exposed[n]!), '/')
      expect(res.body.toString()).toBe(`this is ${n}`)
    }
  })

  it("binds a service at its own port number when that is free here, and at a free one when it is not", async () => {
    // The services listen on 127.0.0.2: their port numbers on 127.0.0.1 are the peer's to take.
    const [free, busy] = [await named('free', '127.0.0.2'), await named('busy', '127.0.0.2')]
    const holder = createTcpServer()
    await new Promise<void>((resolve) => holder.listen(busy, '127.0.0.1', resolve))
    try {
      const { ticket } = await share(['port-hub', `free=127.0.0.2:${free}`, `busy=127.0.0.2:${busy}`])
      const peer = join(ticket)
      const exposed = (await peer.waitEvent('join_ready')).services as Record<string, string>
      expect(exposed.free).toBe(`127.0.0.1:${free}`)
      expect(portOf(exposed.busy!)).not.toBe(busy)
      expect((await httpGet(free, '/')).body.toString()).toBe('this is free')
      expect((await httpGet(portOf(exposed.busy!), '/')).body.toString()).toBe('this is busy')
      const warnings = peer.events.filter((e) => e.event === 'warning')
      expect(warnings).toEqual([expect.objectContaining({ service: 'busy', message: expect.stringMatching(/is taken here .*listening on 127\.0\.0\.1:\d+ instead/) })])
    } finally {
      holder.close()
    }
  })

  it('--expose places a service, --skip leaves one out, and a placed service the hub lacks is a warning', async () => {
    const [a, b, c] = [await named('a'), await named('b'), await named('c')]
    const { ticket } = await share(['pick-hub', `a=127.0.0.1:${a}`, `b=127.0.0.1:${b}`, `c=127.0.0.1:${c}`])
    const placed = await freePort()
    const peer = join(ticket, ['--expose', `a=127.0.0.1:${placed}`, '--skip', 'b', '--expose', 'zzz=127.0.0.1:0'])
    const exposed = (await peer.waitEvent('join_ready')).services as Record<string, string>
    expect(Object.keys(exposed).sort()).toEqual(['a', 'c'])
    expect(exposed.a).toBe(`127.0.0.1:${placed}`)
    expect((await httpGet(placed, '/')).body.toString()).toBe('this is a')
    expect(peer.stderr).toMatch(/warning: the hub does not share `zzz`/)
  })

  it('a placed address that is taken is exit 8 before anything is dialled, naming the option', async () => {
    const a = await named('a')
    const { ticket, hub } = await share(['busy-hub', `a=127.0.0.1:${a}`])
    const peer = join(ticket, ['--expose', `a=127.0.0.1:${a}`])
    expect(await peer.exited).toBe(8)
    expect(peer.stderr).toMatch(/127\.0\.0\.1:\d+ is already in use \(a\); pick another with --expose a=/)
    expect(hub.events.some((e) => e.event === 'peer_connected')).toBe(false)
  })

  it('the older positional form still shares frontend, backend and websocket under ids 1 to 3', async () => {
    const [f, w] = [await named('front'), await named('sock')]
    const { ready, ticket } = await share([`127.0.0.1:${f}`, '-', `127.0.0.1:${w}`, 'old-form-hub'])
    expect(ready.services).toEqual({ frontend: `127.0.0.1:${f}`, websocket: `127.0.0.1:${w}` })
    const peer = join(ticket, ['--frontend-addr', '127.0.0.1:0', '--ws-addr', '-'])
    const exposed = (await peer.waitEvent('join_ready')).services as Record<string, string>
    expect(Object.keys(exposed)).toEqual(['frontend'])
    expect((await httpGet(portOf(exposed.frontend!), '/')).body.toString()).toBe('this is front')
  })

  it('a peer of the first protocol (no table asked for) reaches frontend by port id 1 on a hub of named services', async () => {
    const [f, o] = [await named('front'), await named('ollama')]
    const { ticket } = await share(['mixed-hub', `ollama=127.0.0.1:${o}`, `frontend=127.0.0.1:${f}`])
    const old = await rawPeer(ticket)
    try {
      await old.send(rawFrame(helloFor(ticket, 'old-peer', 2)))
      expect(await readFrame(old.control)).not.toHaveProperty('services')
      const { ack, response } = await getThroughStream(old.link, 1)
      expect(ack).toEqual(Buffer.of(0xff))
      expect(response).toMatch(/this is front$/)
    } finally {
      old.close()
    }
  })

  it('hive share refuses a service twice, a bad name, or a missing address, in one line, exit 2', async () => {
    for (const args of [['h', 'a=127.0.0.1:1', 'a=127.0.0.1:2'], ['h', 'a b=127.0.0.1:1'], ['h', 'a'], ['127.0.0.1:1', 'h']]) {
      const hub = runHive(['share', ...args, ...HUB])
      expect(await hub.exited).toBe(2)
      expect(hub.stderr.trim().split('\n')).toHaveLength(1)
    }
  })
})

async function freePort(): Promise<number> {
  const server = createTcpServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}
