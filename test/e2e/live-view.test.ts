import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { httpDownloadSha, httpGet } from '../helpers/clients.js'
import { exitedWithin, HIVE_BIN, killAll, runHive } from '../helpers/hive.js'
import { BIG, startBackend } from '../helpers/services.js'

/** What a person sees on a terminal, and the `stats` events a script reads. */
let backend: Awaited<ReturnType<typeof startBackend>>
beforeAll(async () => {
  backend = await startBackend()
})
afterEach(async () => {
  await killAll()
})
afterAll(async () => {
  await backend?.close()
})

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const HUB = ['--ephemeral', '--ipv4-addr', '127.0.0.1:0', '--dht-bootstrap', 'none']

/**
 * `hive share` on a terminal of its own: `script` (util-linux) gives it one, in a session of its
 * own. The shell says hive's pid before becoming it, so that a test can signal hive itself.
 */
function shareOnTerminal(name: string): { term: ChildProcess; screen: string; pid: () => number } {
  const pidFile = join(mkdtempSync(join(tmpdir(), 'hive-tty-')), 'pid')
  const command = `echo $$ > ${pidFile}; exec ${[process.execPath, HIVE_BIN, 'share', name, `api=${backend.address}`, ...HUB].join(' ')}`
  const term = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, HIVE_DHT_BOOTSTRAP: 'none' }, detached: true })
  const shown = { term, screen: '', pid: () => Number(readFileSync(pidFile, 'utf8')) }
  term.stdout!.on('data', (d: Buffer) => (shown.screen += d.toString()))
  term.on('error', (err) => (shown.screen += `[cannot run script(1): ${err.message}]`))
  return shown
}

describe('on a terminal', () => {
  it('the hub keeps one live line of peers, connections and bytes, and prints the ticket once', async () => {
    const hub = shareOnTerminal('tty-hub')
    const term = hub.term
    try {
      await expect.poll(() => hub.screen, { timeout: 20_000 }).toMatch(/\r\x1b\[K0 peers · 0 open connections · in 0 B \(0 B\/s\) · out 0 B \(0 B\/s\)/)
      const ticket = /hive1[A-Za-z0-9_-]+/.exec(hub.screen)![0]
      expect(hub.screen.split(ticket).length - 1).toBe(1)
      const peer = runHive(['join', 'tty-peer', '--ticket', '-', '--json', '--expose', 'api=127.0.0.1:0', '--dht-bootstrap', 'none'], { stdin: ticket })
      const ready = await peer.waitEvent('join_ready')
      const port = Number((ready.services as Record<string, string>).api!.split(':')[1])
      // The backend answers 404 to `/`: an answer all the same, through the tunnel.
      expect((await httpGet(port, '/')).status).toBe(404)
      await expect.poll(() => hub.screen, { timeout: 20_000 }).toMatch(/\r\x1b\[K1 peer · 0 open connections · in \d+ B .* · out [\d.]+ [kM]?B/)
      // A status line goes above the live line, which is drawn again below it.
      peer.signal('SIGINT')
      await expect.poll(() => hub.screen, { timeout: 20_000 }).toMatch(/\r\x1b\[K- peer `tty-peer` left \(peer left\)\r?\n\S*\d peers? · /)
    } finally {
      // Stopped as Ctrl+C does.
      const pid = hub.pid()
      process.kill(pid, 'SIGINT')
      await expect.poll(() => isRunning(pid), { timeout: 10_000 }).toBe(false)
      // `script` ends with it; if it has not yet, it is ended here.
      if (isRunning(term.pid!)) process.kill(-term.pid!, 'SIGKILL')
    }
  })

  it('closing the terminal stops the hub and tells its peer (exit 9), where `kill -HUP` with the terminal there restarts it', async () => {
    const hub = shareOnTerminal('hup-hub')
    const term = hub.term
    let pid = 0
    try {
      await expect.poll(() => /hive1[A-Za-z0-9_-]+/.exec(hub.screen)?.[0], { timeout: 20_000 }).toBeDefined()
      const ticket = /hive1[A-Za-z0-9_-]+/.exec(hub.screen)![0]
      pid = hub.pid()
      const peer = runHive(['join', 'hup-peer', '--ticket', '-', '--json', '--expose', 'api=127.0.0.1:0', '--dht-bootstrap', 'none'], { stdin: ticket })
      await peer.waitEvent('join_ready')
      process.kill(pid, 'SIGHUP')
      await expect.poll(() => hub.screen, { timeout: 20_000 }).toMatch(/restarted: the same ticket works/)
      await peer.waitEvent('reconnected')
      // script(1) gone, its side of the terminal closes, and the kernel hangs up hive's side.
      process.kill(term.pid!, 'SIGKILL')
      expect(await exitedWithin(peer, 20_000, `the peer, after the hub's terminal closed (hub screen: ${JSON.stringify(hub.screen.slice(-300))})`)).toBe(9)
      expect(peer.stderr).toMatch(/hub stopped/)
      await expect.poll(() => isRunning(pid), { timeout: 10_000 }).toBe(false)
    } finally {
      if (pid && isRunning(pid)) process.kill(pid, 'SIGKILL')
      if (isRunning(term.pid!)) process.kill(-term.pid!, 'SIGKILL')
    }
  })
})

describe('stats events (--json)', () => {
  it('hub and peer report peers, connections and bytes per service every --stats-interval', async () => {
    const hub = runHive(['share', 'stats-hub', `api=${backend.address}`, '--json', '--stats-interval', '1', ...HUB])
    const ticket = (await hub.waitEvent('hub_ready')).ticket as string
    const peer = runHive(['join', 'stats-peer', '--ticket', '-', '--json', '--stats-interval', '1', '--expose', 'api=127.0.0.1:0', '--dht-bootstrap', 'none'], { stdin: ticket })
    const ready = await peer.waitEvent('join_ready')
    const port = Number((ready.services as Record<string, string>).api!.split(':')[1])
    expect((await httpDownloadSha(port, '/download')).size).toBe(BIG)
    const hubStats = () => hub.events.filter((e) => e.event === 'stats').at(-1) as Record<string, any> | undefined
    const peerStats = () => peer.events.filter((e) => e.event === 'stats').at(-1) as Record<string, any> | undefined
    // Once the download's connection has closed on both sides, and a stats event has said so.
    await expect.poll(() => (hubStats()?.streams === 0 ? hubStats()!.bytes_out : 0), { timeout: 20_000 }).toBeGreaterThanOrEqual(BIG)
    await expect.poll(() => (peerStats()?.streams === 0 ? peerStats()!.bytes_in : 0), { timeout: 20_000 }).toBeGreaterThanOrEqual(BIG)
    expect(hubStats()).toMatchObject({ peers: 1, streams: 0, services: { api: { streams: 0, bytes_out: expect.any(Number), bytes_in: expect.any(Number) } } })
    expect(hubStats()!.services.api.bytes_out).toBeGreaterThanOrEqual(BIG)
    expect(peerStats()).toMatchObject({ linked: true, streams: 0, services: { api: { bytes_in: expect.any(Number) } } })
    // Not a terminal: no live line.
    expect(hub.stderr).not.toMatch(/\x1b\[K/)
  })

  it('--stats-interval 0 sends none, and a bad interval is exit 2', async () => {
    const hub = runHive(['share', 'quiet-hub', `api=${backend.address}`, '--json', '--stats-interval', '0', ...HUB])
    await hub.waitEvent('hub_ready')
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    expect(hub.events.some((e) => e.event === 'stats')).toBe(false)
    const bad = runHive(['share', 'bad-hub', `api=${backend.address}`, '--json', '--stats-interval', 'often', ...HUB])
    expect(await bad.exited).toBe(2)
    expect(bad.stderr).toMatch(/--stats-interval "often"/)
  })
})
