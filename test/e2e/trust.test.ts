import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { httpGet } from '../helpers/clients.js'
import { killAll, runHive, type HiveProcess } from '../helpers/hive.js'
import { freeUdpRun, startMailbox, type MailboxServer } from '../helpers/mailbox.js'
import { startPageServer } from '../helpers/services.js'

/**
 * Peer identities, the hub's trust store and remembered hubs, end to end: the built hive, a
 * hub with a key of its own in a temp directory, peers each with a config directory of their own.
 */
let page: Awaited<ReturnType<typeof startPageServer>>
let mailbox: MailboxServer

beforeAll(async () => {
  ;[page, mailbox] = await Promise.all([startPageServer(), startMailbox()])
})
afterEach(async () => {
  await killAll()
})
afterAll(async () => {
  await Promise.all([page?.close(), mailbox?.stop()])
})

const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  chmodSync(dir, 0o700)
  return dir
}
const modeOf = (file: string): string => (statSync(file).mode & 0o777).toString(8)

interface Machine {
  /** Its XDG_CONFIG_HOME: the peer's key and remembered hubs live here. */
  config: string
  env: NodeJS.ProcessEnv
}
const machine = (): Machine => {
  const config = tempDir('hive-machine-')
  return { config, env: { XDG_CONFIG_HOME: config } }
}

/** A hub whose key (and trust store, and control socket) sits in a directory of its own. */
async function share(keyFile: string, extra: string[] = []): Promise<{ hub: HiveProcess; ticket: string }> {
  const hub = runHive(['share', 'trust-hub', `web=${page.address}`, '--ipv4-addr', '127.0.0.1:0', '--identity', keyFile, '--json', ...extra])
  const ready = await hub.waitEvent('hub_ready')
  return { hub, ticket: ready.ticket as string }
}

function joinAs(name: string, on: Machine, how: string[], extra: string[] = []): HiveProcess {
  return runHive(['join', name, ...how, '--expose', 'web=127.0.0.1:0', '--json', ...extra], { env: on.env })
}

/** Runs a command of hive to its end: status, stderr, and its JSON events. */
async function hive(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stderr: string; events: HiveProcess['events'] }> {
  const p = runHive(args, { env })
  const status = await p.exited
  return { status, stderr: p.stderr, events: p.events }
}

const webPort = (ready: Record<string, unknown>): number => Number((ready.services as Record<string, string>).web!.split(':').pop())
const peerIdIn = (stderr: string): string => /as peer (12D3KooW\w+)/.exec(stderr)![1]!

describe('peer identity and trust on first use', () => {
  it('a peer keeps one key across runs (peer.key, 0600); the hub enrols it on its first join and knows it after', async () => {
    const keyFile = join(tempDir('hive-hub-'), 'hub.key')
    const { hub, ticket } = await share(keyFile)
    const laptop = machine()

    const first = joinAs('laptop', laptop, ['--ticket', ticket])
    const ready = await first.waitEvent('join_ready')
    expect((await httpGet(webPort(ready), '/')).status).toBe(200)
    const connected = await hub.waitEvent('peer_connected')
    expect(connected).toMatchObject({ peer: 'laptop', peer_id: ready.peer_id, enrolled: true })
    expect(modeOf(join(laptop.config, 'hive', 'peer.key'))).toBe('600')
    // The store is written just after the welcome.
    await expect.poll(() => statSync(`${keyFile}.peers`, { throwIfNoEntry: false })?.isFile()).toBe(true)
    expect(modeOf(`${keyFile}.peers`)).toBe('600')
    expect(modeOf(`${keyFile}.sock`)).toBe('600')

    const listed = await hive(['peers', '--identity', keyFile, '--json'])
    expect(listed.status).toBe(0)
    const peers = listed.events.find((e) => e.event === 'peers')!.peers as Array<Record<string, unknown>>
    expect(peers).toEqual([expect.objectContaining({ id: ready.peer_id, name: 'laptop', online: true, revoked: null })])
    expect(peers[0]!.last_seen).toEqual(expect.any(String))

    first.signal('SIGINT')
    expect(await first.exited).toBe(0)
    // The same machine again: the same key, already enrolled.
    const again = joinAs('laptop', laptop, ['--ticket', ticket])
    expect((await again.waitEvent('join_ready')).peer_id).toBe(ready.peer_id)
    expect(await hub.waitEvent('peer_connected', 20_000, 2)).toMatchObject({ peer_id: ready.peer_id, enrolled: false })

    // Human output: a table on stdout, one row per peer.
    const table = runHive(['peers', '--identity', keyFile])
    expect(await table.exited).toBe(0)
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME +PEER ID +STATE +ADDED \(UTC\) +LAST SEEN \(UTC\)$/)
    expect(table.stdout).toMatch(new RegExp(`^laptop +${ready.peer_id} +trusted, online +\\d{4}-`, 'm'))
  })

  it('--ephemeral peers get a fresh key each run and write nothing', async () => {
    const { hub, ticket } = await share(join(tempDir('hive-hub-'), 'hub.key'))
    const box = machine()
    const ids = []
    for (let i = 0; i < 2; i++) {
      const p = joinAs('throwaway', box, ['--ticket', ticket], ['--ephemeral'])
      ids.push((await p.waitEvent('join_ready')).peer_id)
      p.signal('SIGINT')
      await p.exited
    }
    expect(ids[0]).not.toBe(ids[1])
    expect(() => statSync(join(box.config, 'hive'))).toThrow()
    await hub.waitEvent('peer_connected', 20_000, 2)
  })

  it('two peers of one machine share its key under different names, and both stay joined', async () => {
    const { hub, ticket } = await share(join(tempDir('hive-hub-'), 'hub.key'))
    const box = machine()
    // The first creates the key; the second reads it.
    const a = joinAs('box-a', box, ['--ticket', ticket])
    const readyA = await a.waitEvent('join_ready')
    const b = joinAs('box-b', box, ['--ticket', ticket])
    const readyB = await b.waitEvent('join_ready')
    expect(readyB.peer_id).toBe(readyA.peer_id)
    await hub.waitEvent('peer_connected', 20_000, 2)
    expect((await httpGet(webPort(readyA), '/')).status).toBe(200)
    expect((await httpGet(webPort(readyB), '/')).status).toBe(200)
    expect(hub.events.filter((e) => e.event === 'peer_left')).toEqual([])
  })
})

describe('one key on every path', () => {
  it('a peer enrolled over QUIC is the same peer over the DHT path (--transport udx), and a revocation holds on both', async () => {
    const port = await freeUdpRun(4)
    const bootstrap = `127.0.0.1:${port}`
    const relay = runHive(['relay', '--bind', bootstrap, '--ephemeral', '--json'])
    await relay.waitEvent('relay_ready')
    const keyFile = join(tempDir('hive-hub-'), 'hub.key')
    const { hub, ticket } = await share(keyFile, ['--dht-bootstrap', bootstrap])
    await hub.waitEvent('dht_ready', 30_000)
    const laptop = machine()

    const overQuic = joinAs('laptop', laptop, ['--ticket', ticket], ['--transport', 'quic'])
    const quicReady = await overQuic.waitEvent('join_ready')
    expect(await hub.waitEvent('peer_connected')).toMatchObject({ enrolled: true })
    overQuic.signal('SIGINT')
    await overQuic.exited

    const overUdx = joinAs('laptop', laptop, ['--ticket', ticket], ['--transport', 'udx', '--dht-bootstrap', bootstrap])
    const udxReady = await overUdx.waitEvent('join_ready', 30_000)
    expect(udxReady.path).not.toBe('direct')
    expect(udxReady.peer_id).toBe(quicReady.peer_id)
    expect(await hub.waitEvent('peer_connected', 20_000, 2)).toMatchObject({ peer_id: quicReady.peer_id, enrolled: false })
    expect((await httpGet(webPort(udxReady), '/')).status).toBe(200)

    expect((await hive(['peers', 'revoke', 'laptop', '--identity', keyFile])).status).toBe(0)
    expect(await overUdx.exited).toBe(24)
    expect(await joinAs('laptop', laptop, ['--ticket', ticket], ['--transport', 'quic']).exited).toBe(24)
  }, 90_000)
})

describe('--trusted-only, allow and revoke', () => {
  it('--trusted-only refuses an unknown key holding a valid ticket (exit 25); `hive peers allow` on the running hub lets it in', async () => {
    const keyFile = join(tempDir('hive-hub-'), 'hub.key')
    const { hub, ticket } = await share(keyFile, ['--trusted-only'])
    expect(hub.stderr).toMatch(/only enrolled peers get in \(--trusted-only\)/)
    const stranger = machine()
    const refused = joinAs('stranger', stranger, ['--ticket', ticket])
    expect(await refused.exited).toBe(25)
    const id = peerIdIn(refused.stderr)
    expect(refused.stderr).toMatch(new RegExp(`admits only the peers it has enrolled, and ${id} is not one`))
    expect(refused.stderr.trim().split('\n').filter((l) => l.startsWith('hive:'))).toHaveLength(1)
    expect(await hub.waitEvent('peer_refused')).toMatchObject({ kind: 'trust', peer_id: id })

    const allowed = await hive(['peers', 'allow', id, 'friend', '--identity', keyFile, '--json'])
    expect(allowed.status).toBe(0)
    expect(allowed.events.find((e) => e.event === 'peer_allowed')).toMatchObject({ id, name: 'friend', hub_running: true })
    const admitted = joinAs('stranger', stranger, ['--ticket', ticket])
    expect((await httpGet(webPort(await admitted.waitEvent('join_ready')), '/')).status).toBe(200)
  })

  it('`hive id` gives a peer its id before any join; `hive peers allow` with no hub running enrols it, and the next --trusted-only hub admits it', async () => {
    const keyFile = join(tempDir('hive-hub-'), 'hub.key')
    const ci = machine()
    const shown = runHive(['id'], { env: ci.env })
    expect(await shown.exited).toBe(0)
    const id = shown.stdout.trim()
    expect(id).toMatch(/^12D3KooW\w{44}$/)
    expect(shown.stderr).toMatch(/created peer key .*peer\.key/)

    const allowed = await hive(['peers', 'allow', id, 'ci', '--identity', keyFile])
    expect(allowed.status).toBe(0)
    expect(allowed.stderr).toMatch(/no hub is running with this key, the next one started admits it/)
    const store = JSON.parse(readFileSync(`${keyFile}.peers`, 'utf8'))
    expect(store.peers).toEqual([expect.objectContaining({ id, name: 'ci' })])
    expect(modeOf(`${keyFile}.peers`)).toBe('600')

    const { hub, ticket } = await share(keyFile, ['--trusted-only'])
    const admitted = joinAs('ci-runner', ci, ['--ticket', ticket])
    expect((await admitted.waitEvent('join_ready')).peer_id).toBe(id)
    expect(await hub.waitEvent('peer_connected')).toMatchObject({ peer_id: id, enrolled: false })
  })

  it('revoke ends a live session within 1 s (exit 24, no reconnect), and the revoked key is refused with a valid ticket until allowed again', async () => {
    const keyFile = join(tempDir('hive-hub-'), 'hub.key')
    const { hub, ticket } = await share(keyFile)
    const laptop = machine()
    const peer = joinAs('laptop', laptop, ['--ticket', ticket])
    const ready = await peer.waitEvent('join_ready')
    await hub.waitEvent('peer_connected')
    const peerExit = peer.exited.then((status) => ({ status, at: performance.now() }))

    const revoked = await hive(['peers', 'revoke', 'laptop', '--identity', keyFile, '--json'])
    const revokedAt = performance.now()
    expect(revoked.status).toBe(0)
    expect(revoked.events.find((e) => e.event === 'peer_revoked')).toMatchObject({ id: ready.peer_id, hub_running: true, sessions_ended: 1 })
    const exit = await peerExit
    console.log(`[figures] revoke: the peer exited ${(exit.at - revokedAt).toFixed(0)} ms after \`hive peers revoke\` returned`)
    // The hub has already sent its bye when the command returns: the peer only has to leave.
    expect(exit.at - revokedAt).toBeLessThan(1000)
    expect(exit.status).toBe(24)
    expect(peer.stderr).toMatch(/revoked this peer's key/)
    expect(await hub.waitEvent('peer_revoked')).toMatchObject({ id: ready.peer_id, sessions_ended: 1 })
    expect(await hub.waitEvent('peer_left')).toMatchObject({ peer: 'laptop', lost: false, reason: expect.stringMatching(/revoked/) })

    // Its ticket is still valid, its key is not.
    const back = joinAs('laptop', laptop, ['--ticket', ticket])
    expect(await back.exited).toBe(24)
    expect(back.stderr).toMatch(/refused this peer: this hub revoked the key/)
    expect(hub.events.filter((e) => e.event === 'peer_connected')).toHaveLength(1)
    const listed = await hive(['peers', '--identity', keyFile, '--json'])
    expect((listed.events.find((e) => e.event === 'peers')!.peers as unknown[])[0]).toMatchObject({ name: 'laptop', revoked: expect.any(String), online: false })

    // Revoked by id this time is the same; allowed again, it gets in.
    expect((await hive(['peers', 'allow', ready.peer_id as string, '--identity', keyFile])).status).toBe(0)
    const readmitted = joinAs('laptop', laptop, ['--ticket', ticket])
    await readmitted.waitEvent('join_ready')
  })

  it('a revocation made with no hub running holds when the hub starts', async () => {
    const keyFile = join(tempDir('hive-hub-'), 'hub.key')
    const box = machine()
    const { hub, ticket } = await share(keyFile)
    const peer = joinAs('old-laptop', box, ['--ticket', ticket])
    const { peer_id: id } = await peer.waitEvent('join_ready')
    // A hub stopped cleanly has written its store (a peer's enrolment is written just after its welcome).
    await hub.waitEvent('peer_connected')
    hub.signal('SIGINT')
    await hub.exited
    await killAll()
    const revoked = await hive(['peers', 'revoke', id as string, '--identity', keyFile])
    expect(revoked.status).toBe(0)
    expect(revoked.stderr).toMatch(/no hub is running with this key; the next one started refuses it/)
    const { ticket: again } = await share(keyFile)
    expect(await joinAs('old-laptop', box, ['--ticket', again]).exited).toBe(24)
  })

  it('remove forgets a peer: a removed revoked key enrols again with the ticket; a removed connected one is told to be still in; with no hub running the file changes', async () => {
    const keyFile = join(tempDir('hive-hub-'), 'hub.key')
    const { hub, ticket } = await share(keyFile)
    const [old, desk] = [machine(), machine()]
    const oldPeer = joinAs('old', old, ['--ticket', ticket])
    const { peer_id: oldId } = await oldPeer.waitEvent('join_ready')
    await hub.waitEvent('peer_connected')
    expect((await hive(['peers', 'revoke', 'old', '--identity', keyFile])).status).toBe(0)
    expect(await oldPeer.exited).toBe(24)

    const removed = await hive(['peers', 'remove', 'old', '--identity', keyFile, '--json'])
    expect(removed.status).toBe(0)
    expect(removed.events.find((e) => e.event === 'peer_removed')).toMatchObject({ id: oldId, revoked: expect.any(String), hub_running: true, online: false })
    expect(removed.stderr).toMatch(/removed peer `old` .*it is no longer refused: with a valid ticket it is enrolled again/)
    expect(await hub.waitEvent('peer_removed')).toMatchObject({ id: oldId, online: false })
    const back = joinAs('old', old, ['--ticket', ticket])
    await back.waitEvent('join_ready')
    expect(await hub.waitEvent('peer_connected', 20_000, 2)).toMatchObject({ peer_id: oldId, enrolled: true })

    const deskPeer = joinAs('desk', desk, ['--ticket', ticket])
    const { peer_id: deskId } = await deskPeer.waitEvent('join_ready')
    expect(await hub.waitEvent('peer_connected', 20_000, 3)).toMatchObject({ peer_id: deskId })
    const stillIn = await hive(['peers', 'remove', deskId as string, '--identity', keyFile, '--json'])
    expect(stillIn.events.find((e) => e.event === 'peer_removed')).toMatchObject({ id: deskId, online: true })
    expect(stillIn.stderr).toMatch(/It is still connected: `hive peers revoke` ends a session/)
    expect((await httpGet(webPort(await deskPeer.waitEvent('join_ready')), '/')).status).toBe(200)

    hub.signal('SIGINT')
    await hub.exited
    const offline = await hive(['peers', 'remove', oldId as string, '--identity', keyFile])
    expect(offline.status).toBe(0)
    expect(JSON.parse(readFileSync(`${keyFile}.peers`, 'utf8')).peers).toEqual([])
    const gone = await hive(['peers', 'remove', 'old', '--identity', keyFile])
    expect(gone.status).toBe(2)
    expect(gone.stderr).toMatch(/no peer named or with the id old/)
  })

  it('revoking an unknown name, or a name two peers share, is a usage error that says what to do', async () => {
    const keyFile = join(tempDir('hive-hub-'), 'hub.key')
    const { ticket } = await share(keyFile)
    for (const box of [machine(), machine()]) await joinAs('twin', box, ['--ticket', ticket]).waitEvent('join_ready')
    const ambiguous = await hive(['peers', 'revoke', 'twin', '--identity', keyFile])
    expect(ambiguous.status).toBe(2)
    expect(ambiguous.stderr).toMatch(/2 peers are named twin: give the peer id instead \(12D3KooW\w+, 12D3KooW\w+\)/)
    const unknown = await hive(['peers', 'revoke', 'nobody', '--identity', keyFile])
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toMatch(/no peer named or with the id nobody/)
    const badId = await hive(['peers', 'allow', 'not-an-id', '--identity', keyFile])
    expect(badId.status).toBe(2)
    expect(badId.stderr).toMatch(/is not a peer id/)
  })
})

describe('damaged or unsafe store files', () => {
  it('a corrupted trust store is a one-line error (exit 12) naming the file, and is left as it was, never reset', async () => {
    const dir = tempDir('hive-hub-')
    const keyFile = join(dir, 'hub.key')
    const { hub: first, ticket } = await share(keyFile)
    await joinAs('laptop', machine(), ['--ticket', ticket]).waitEvent('join_ready')
    await first.waitEvent('peer_connected')
    first.signal('SIGINT')
    await first.exited
    const damaged = readFileSync(`${keyFile}.peers`, 'utf8').slice(0, 60)
    writeFileSync(`${keyFile}.peers`, damaged)
    const hub = runHive(['share', 'trust-hub', `web=${page.address}`, '--ipv4-addr', '127.0.0.1:0', '--identity', keyFile])
    expect(await hub.exited).toBe(12)
    expect(hub.stderr.trim().split('\n')).toHaveLength(1)
    expect(hub.stderr).toMatch(new RegExp(`${keyFile}\\.peers is not a valid hive trust store .*; repair it, or move it away`))
    expect(readFileSync(`${keyFile}.peers`, 'utf8')).toBe(damaged)
    const listed = await hive(['peers', '--identity', keyFile])
    expect(listed.status).toBe(12)

    writeFileSync(`${keyFile}.peers`, JSON.stringify({ kind: 'hive-trust-store', version: 1, peers: [] }), { mode: 0o644 })
    chmodSync(`${keyFile}.peers`, 0o644)
    const open = await hive(['peers', '--identity', keyFile])
    expect(open.status).toBe(12)
    expect(open.stderr).toMatch(/is open to other users \(mode 0644\); run `chmod 600/)
  })

  it('a second hub with the same key is refused while the first runs (its control socket answers); a socket left by a killed hub is replaced', async () => {
    const keyFile = join(tempDir('hive-hub-'), 'hub.key')
    const { hub } = await share(keyFile)
    const second = runHive(['share', 'trust-hub', `web=${page.address}`, '--ipv4-addr', '127.0.0.1:0', '--identity', keyFile])
    expect(await second.exited).toBe(12)
    expect(second.stderr).toMatch(/another hub with this key is running/)
    hub.signal('SIGKILL')
    await hub.exited
    expect(statSync(`${keyFile}.sock`).isSocket()).toBe(true)
    const { hub: third } = await share(keyFile)
    expect((await hive(['peers', '--identity', keyFile])).status).toBe(0)
    third.signal('SIGINT')
    expect(await third.exited).toBe(0)
    expect(() => statSync(`${keyFile}.sock`)).toThrow()
  })

  it('a key so deep that its control socket path is longer than a Unix socket address: `hive peers revoke` still reaches the running hub', async () => {
    const dir = join(tempDir('hive-hub-'), 'd'.repeat(60), 'e'.repeat(60))
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const keyFile = join(dir, 'hub.key')
    expect(Buffer.byteLength(`${keyFile}.sock`)).toBeGreaterThan(108)
    const { hub, ticket } = await share(keyFile)
    const peer = joinAs('deep', machine(), ['--ticket', ticket])
    const ready = await peer.waitEvent('join_ready')
    await hub.waitEvent('peer_connected')
    expect((await httpGet(webPort(ready), '/')).status).toBe(200)
    const revoked = await hive(['peers', 'revoke', 'deep', '--identity', keyFile, '--json'])
    expect(revoked.status).toBe(0)
    expect(revoked.events.find((e) => e.event === 'peer_revoked')).toMatchObject({ hub_running: true, sessions_ended: 1 })
    expect(await peer.exited).toBe(24)
    expect(hub.events.filter((e) => e.event === 'warning')).toEqual([])
    hub.signal('SIGINT')
    expect(await hub.exited).toBe(0)
    expect(() => statSync(`${keyFile}.sock`)).toThrow()
  })
})

describe('pair once, then reconnect by name', () => {
  it('pairs with a join code, remembers the hub (0600), rejoins with --hub, lists it in `hive hubs`, and forgets it', async () => {
    const keyFile = join(tempDir('hive-hub-'), 'hub.key')
    const { hub } = await share(keyFile, ['--wormhole', '--wormhole-relay', mailbox.url])
    const code = (await hub.waitEvent('join_code')).code as string
    const laptop = machine()
    const paired = joinAs('laptop', laptop, ['--join-code', code], ['--wormhole-relay', mailbox.url])
    const ready = await paired.waitEvent('join_ready')
    await expect.poll(() => paired.stderr).toMatch(/remembered hub `trust-hub`: next time, `hive join laptop --hub trust-hub`/)
    const remembered = join(laptop.config, 'hive', 'hubs', 'trust-hub')
    expect(modeOf(remembered)).toBe('600')
    expect(modeOf(join(laptop.config, 'hive', 'hubs'))).toBe('700')
    paired.signal('SIGINT')
    expect(await paired.exited).toBe(0)

    const listed = await hive(['hubs', '--json'], laptop.env)
    expect(listed.events.find((e) => e.event === 'hubs')!.hubs).toEqual([expect.objectContaining({ name: 'trust-hub', hub_peer_id: hub.events.find((e) => e.event === 'hub_ready')!.peer_id })])

    // Every day after: by name, no ticket, no code; the same key, so the hub knows it.
    const daily = joinAs('laptop', laptop, ['--hub', 'trust-hub'])
    const again = await daily.waitEvent('join_ready')
    expect(again.peer_id).toBe(ready.peer_id)
    expect((await httpGet(webPort(again), '/')).status).toBe(200)
    expect(await hub.waitEvent('peer_connected', 20_000, 2)).toMatchObject({ peer: 'laptop', enrolled: false })
    daily.signal('SIGINT')
    await daily.exited

    const forgot = await hive(['hubs', 'forget', 'trust-hub'], laptop.env)
    expect(forgot.status).toBe(0)
    expect(() => statSync(remembered)).toThrow()
    const gone = await hive(['join', 'laptop', '--hub', 'trust-hub'], laptop.env)
    expect(gone.status).toBe(2)
    expect(gone.stderr).toMatch(/no remembered hub named trust-hub; `hive hubs` lists them/)
    expect((await hive(['hubs', 'forget', 'trust-hub'], laptop.env)).status).toBe(2)
  })

  it('a damaged remembered ticket is a clear error (exit 3) that says how to recover; --hub with --ticket is a usage error', async () => {
    const laptop = machine()
    const dir = join(laptop.config, 'hive', 'hubs')
    const { ticket } = await share(join(tempDir('hive-hub-'), 'hub.key'))
    await joinAs('laptop', laptop, ['--ticket', ticket]).waitEvent('join_ready')
    await expect.poll(() => statSync(join(dir, 'trust-hub'), { throwIfNoEntry: false })?.isFile()).toBe(true)
    await killAll()
    writeFileSync(join(dir, 'trust-hub'), 'hive1garbage\n', { mode: 0o600 })
    const damaged = await hive(['join', 'laptop', '--hub', 'trust-hub'], laptop.env)
    expect(damaged.status).toBe(3)
    expect(damaged.stderr).toMatch(/does not hold a valid ticket .*; run `hive hubs forget trust-hub` and join with a fresh ticket/)
    const listed = runHive(['hubs'], { env: laptop.env })
    expect(await listed.exited).toBe(0)
    expect(listed.stdout).toMatch(/^trust-hub +- +unreadable: /m)
    const both = await hive(['join', 'laptop', '--hub', 'trust-hub', '--ticket', ticket], laptop.env)
    expect(both.status).toBe(2)
    expect(both.stderr).toMatch(/--ticket and --hub cannot be used together/)
  })

  it('a remembered hub name that now belongs to another hub (another key) is a warning, and --hub then joins the new hub', async () => {
    const laptop = machine()
    const first = await share(join(tempDir('hive-hub-'), 'hub.key'))
    await joinAs('laptop', laptop, ['--ticket', first.ticket]).waitEvent('join_ready')
    await expect.poll(() => statSync(join(laptop.config, 'hive', 'hubs', 'trust-hub'), { throwIfNoEntry: false })?.isFile()).toBe(true)
    await killAll()
    const second = await share(join(tempDir('hive-hub-'), 'hub.key'))
    const rejoined = joinAs('laptop', laptop, ['--ticket', second.ticket])
    const warning = await rejoined.waitEvent('warning')
    expect(warning.message).toBe('the hub remembered as `trust-hub` was another one (another key); `--hub trust-hub` now joins this one')
    rejoined.signal('SIGINT')
    await rejoined.exited
    await joinAs('laptop', laptop, ['--hub', 'trust-hub']).waitEvent('join_ready')
    expect(await second.hub.waitEvent('peer_connected', 20_000, 2)).toMatchObject({ peer: 'laptop', enrolled: false })
  })
})
