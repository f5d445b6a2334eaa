import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { HIVE_BIN, killAll, runHive, type HiveProcess } from '../helpers/hive.js'

/** `hive join ... -- CMD` and `hive share ... -- CMD`, with real commands (node scripts). */
let server: Server

const HUB = ['--ephemeral', '--json', '--ipv4-addr', '127.0.0.1:0', '--dht-bootstrap', 'none']
const JOIN = ['--ticket', '-', '--dht-bootstrap', 'none', '--expose', 'web=127.0.0.1:0', '-q']
const node = (script: string): string[] => [process.execPath, '-e', script]

/** The web service the hubs share, started once: its port. */
async function web(): Promise<number> {
  server ??= await new Promise<Server>((resolve) => {
    const s = createServer((_req, res) => res.end('this is web')).listen(0, '127.0.0.1', () => resolve(s))
  })
  return (server.address() as { port: number }).port
}

async function hub(): Promise<{ hub: HiveProcess; ticket: string }> {
  const h = runHive(['share', 'cmd-hub', `web=127.0.0.1:${await web()}`, 'api-v2=127.0.0.1:9', ...HUB])
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
    const script = `console.log('ticket ' + process.env.HIVE_TICKET.slice(0, 5)); process.exit(3)`
    const h = runHive(['share', 'cmd-hub', `web=127.0.0.1:${await web()}`, ...HUB, '--', ...node(script)])
    expect(await h.exited).toBe(3)
    expect(h.stdout).toMatch(/ticket hive1/)
    expect(h.events.map((e) => e.event)).toEqual(expect.arrayContaining(['hub_ready', 'hub_stopped']))
  })

  it('on a terminal, Ctrl+C reaches CMD once, from the terminal, as when CMD runs directly (hive does not send it a second SIGINT)', async () => {
    // CMD counts its SIGINTs for a second before it leaves, time enough for a copy to arrive.
    const script = `let n = 0; process.on('SIGINT', () => { console.log('got SIGINT ' + ++n); setTimeout(() => process.exit(42), 1000) }); console.log('cmd ready'); setInterval(() => {}, 1000)`
    const hive = [process.execPath, HIVE_BIN, 'share', 'tty-cmd-hub', `web=127.0.0.1:${await web()}`, ...HUB, '--', process.execPath, '-e', JSON.stringify(script)]
    // script(1) gives hive a terminal of its own; a ^C written to it is the terminal's Ctrl+C.
    // `exec` leaves no shell between them: without SHELL, script runs dash, which would stay in
    // the foreground group and die of the ^C itself (script then says 130, whatever hive does).
    const term = spawn('script', ['-qfec', `exec ${hive.join(' ')}`, '/dev/null'], { env: { ...process.env, HIVE_DHT_BOOTSTRAP: 'none' }, detached: true })
    let screen = ''
    term.stdout.on('data', (d: Buffer) => (screen += d.toString()))
    term.on('error', (err) => (screen += `[cannot run script(1): ${err.message}]`))
    const exited = new Promise<number | null>((resolve) => term.once('exit', (code) => resolve(code)))
    try {
      await expect.poll(() => screen, { timeout: 20_000 }).toMatch(/cmd ready/)
      term.stdin.write('\x03')
      expect(await exited).toBe(42)
      expect(screen.match(/got SIGINT \d/g)).toEqual(['got SIGINT 1'])
    } finally {
      term.stdin.end()
      if (term.exitCode === null) process.kill(-term.pid!, 'SIGKILL')
    }
  })
})
