import { createServer, type Server } from 'node:http'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { killAll, runHive, type HiveProcess } from '../helpers/hive.js'

/** `hive join ... -- CMD` and `hive share ... -- CMD`, with real commands (node scripts). */
let server: Server
let port = 0

const HUB = ['--ephemeral', '--json', '--ipv4-addr', '127.0.0.1:0', '--dht-bootstrap', 'none']
const JOIN = ['--ticket', '-', '--dht-bootstrap', 'none', '--expose', 'web=127.0.0.1:0', '-q']
const node = (script: string): string[] => [process.execPath, '-e', script]

async function hub(): Promise<{ hub: HiveProcess; ticket: string }> {
  server ??= await new Promise<Server>((resolve) => {
    const s = createServer((_req, res) => res.end('this is web')).listen(0, '127.0.0.1', () => resolve(s))
  })
  port = (server.address() as { port: number }).port
  const h = runHive(['share', 'cmd-hub', `web=127.0.0.1:${port}`, 'api-v2=127.0.0.1:9', ...HUB])
  return { hub: h, ticket: (await h.waitEvent('hub_ready')).ticket as string }
}

afterEach(async () => {
  await killAll()
})
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
})

describe('hive join -- CMD', () => {
  it('runs CMD with each service in its environment, leaves when it exits, and exits with its status', async () => {
    const { hub: h, ticket } = await hub()
    const script = `fetch(process.env.HIVE_WEB_URL).then((r) => r.text()).then((t) => {
      console.log(JSON.stringify({ body: t, addr: process.env.HIVE_WEB_ADDR, api: process.env.HIVE_API_V2_URL }))
      process.exit(7)
    })`
    const peer = runHive(['join', 'cmd-peer', ...JOIN, '--', ...node(script)], { stdin: ticket })
    expect(await peer.exited).toBe(7)
    const seen = JSON.parse(peer.stdout.trim().split('\n').pop()!) as { body: string; addr: string; api: string }
    expect(seen.body).toBe('this is web')
    expect(seen.addr).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(seen.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    // It said goodbye: the hub saw it leave, not vanish.
    await expect.poll(() => h.events.find((e) => e.event === 'peer_left')).toMatchObject({ peer: 'cmd-peer', lost: false })
  })

  it('hands SIGTERM and SIGINT to CMD, and exits with the status CMD chooses', async () => {
    const { ticket } = await hub()
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const script = `process.on('${signal}', () => { console.log('got ${signal}'); process.exit(42) }); console.log('ready'); setInterval(() => {}, 1000)`
      const peer = runHive(['join', 'sig-peer', ...JOIN, '--', ...node(script)], { stdin: ticket })
      await expect.poll(() => peer.stdout, { timeout: 20_000 }).toMatch(/ready/)
      peer.signal(signal)
      expect(await peer.exited).toBe(42)
      expect(peer.stdout).toMatch(new RegExp(`got ${signal}`))
    }
  })

  it('a CMD ended by a signal gives 128 + its number', async () => {
    const { ticket } = await hub()
    const peer = runHive(['join', 'kill-peer', ...JOIN, '--', ...node("process.kill(process.pid, 'SIGKILL')")], { stdin: ticket })
    expect(await peer.exited).toBe(137)
  })

  it('when the tunnel ends first, CMD gets SIGTERM and hive exits with its own status', async () => {
    const { hub: h, ticket } = await hub()
    const script = `process.on('SIGTERM', () => { console.log('told to stop'); process.exit(0) }); console.log('ready'); setInterval(() => {}, 1000)`
    const peer = runHive(['join', 'end-peer', ...JOIN, '--', ...node(script)], { stdin: ticket })
    await expect.poll(() => peer.stdout, { timeout: 20_000 }).toMatch(/ready/)
    h.signal('SIGTERM')
    expect(await peer.exited).toBe(9)
    expect(peer.stdout).toMatch(/told to stop/)
  })

  it('a command that cannot be started is exit 127 in one line, and the peer leaves', async () => {
    const { hub: h, ticket } = await hub()
    const peer = runHive(['join', 'nocmd-peer', ...JOIN, '--', 'hive-no-such-command-here'], { stdin: ticket })
    expect(await peer.exited).toBe(127)
    expect(peer.stderr).toMatch(/^hive: cannot run `hive-no-such-command-here`: command not found/m)
    await expect.poll(() => h.events.find((e) => e.event === 'peer_left')).toMatchObject({ lost: false })
  })

  it('an argument after the name without -- is a usage error', async () => {
    const peer = runHive(['join', 'p', 'npm', 'test', '--ticket', 'x'])
    expect(await peer.exited).toBe(2)
    expect(peer.stderr).toMatch(/a command to run goes after --/)
  })
})

describe('hive share -- CMD', () => {
  it('runs CMD with HIVE_TICKET once ready, and stops the hub with its status', async () => {
    server ??= await new Promise<Server>((resolve) => {
      const s = createServer((_req, res) => res.end('this is web')).listen(0, '127.0.0.1', () => resolve(s))
    })
    const script = `console.log('ticket ' + process.env.HIVE_TICKET.slice(0, 5)); process.exit(3)`
    const h = runHive(['share', 'cmd-hub', `web=127.0.0.1:${(server.address() as { port: number }).port}`, ...HUB, '--', ...node(script)])
    expect(await h.exited).toBe(3)
    expect(h.stdout).toMatch(/ticket hive1/)
    expect(h.events.map((e) => e.event)).toEqual(expect.arrayContaining(['hub_ready', 'hub_stopped']))
  })
})
