import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { httpDownloadSha, wsEcho } from '../helpers/clients.js'
import { killAll, runHive, type HiveProcess } from '../helpers/hive.js'
import { buildNatLab, linkToTest, type NatKind, type NatLab } from '../helpers/nat-lab.js'
import { canUseNetns } from '../helpers/netns.js'
import { sha256, startBackend, startWsEcho, type Service } from '../helpers/services.js'
import { request } from 'node:http'

/**
 * Reaching a hub behind NAT, with real NATs: namespaces, veth pairs and iptables
 * (test/helpers/nat-lab.ts). A `hive relay` on the lab's "internet" is the DHT and the blind
 * relay; the hub and the peer sit behind NATs of the kind each case names.
 */
const root = canUseNetns()
const BODY = 32 * 1024 * 1024
const BOOTSTRAP_PORT = 49737

let backend: Awaited<ReturnType<typeof startBackend>>
let ws: Service
let lab: NatLab | null = null

afterEach(async () => {
  await killAll()
  lab?.destroy()
  lab = null
})

interface Case {
  lab: NatLab
  relayKey: string
  bootstrap: string
  hub: HiveProcess
  ticket: string
  peerHost: string
}

/** The lab, a relay on its internet, the test's services linked to the hub, and a running hub. */
async function setUp(kind: NatKind, hubRelay: boolean): Promise<Case> {
  lab = await buildNatLab(kind)
  const toHub = linkToTest(lab.hubNs)
  const toPeer = linkToTest(lab.peerNs)
  backend = await startBackend(toHub.testAddr)
  ws = await startWsEcho(toHub.testAddr)
  const bootstrap = `${lab.internetAddr}:${BOOTSTRAP_PORT}`
  const relay = runHive(['relay', '--bind', bootstrap, '--ephemeral', '--json', '--dht-bootstrap', 'none'], { netns: lab.internet })
  const relayKey = (await relay.waitEvent('relay_ready')).relay as string
  const hub = runHive(
    ['share', '-', backend.address, ws.address, 'nat-hub', '--ephemeral', '--json', '--ipv4-addr', `${lab.hubAddr}:0`, '--dht-bootstrap', bootstrap, ...(hubRelay ? ['--relay', relayKey] : [])],
    { netns: lab.hubNs },
  )
  const ticket = (await hub.waitEvent('hub_ready')).ticket as string
  await hub.waitEvent('dht_ready')
  return { lab, relayKey, bootstrap, hub, ticket, peerHost: toPeer.hostAddr }
}

function join(c: Case, extra: string[] = []): HiveProcess {
  return runHive(
    ['join', 'nat-peer', '--ticket', '-', '--json', '--dht-bootstrap', c.bootstrap, '--frontend-addr', '-', '--backend-addr', `${c.peerHost}:0`, '--ws-addr', `${c.peerHost}:0`, ...extra],
    { netns: c.lab.peerNs, stdin: c.ticket },
  )
}

function split(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':')
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) }
}

async function streamedTokens(host: string, port: number, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    request({ host, port, path: `/tokens/${n}` }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve(text.trim().split('\n')))
      res.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
}

/** The traffic every case must carry intact: a 32 MiB body, a streamed response, a WebSocket echo. */
async function pushTraffic(ready: Record<string, unknown>): Promise<void> {
  const services = ready.services as Record<string, string>
  const b = split(services.backend!)
  const w = split(services.websocket!)
  const download = await httpDownloadSha(b.port, `/download/${BODY}`, undefined, b.host)
  expect(download.size).toBe(BODY)
  expect(download.sha).toBe(sha256(backend.body.subarray(0, BODY)))
  const tokens = await streamedTokens(b.host, b.port, 50)
  expect(tokens).toEqual(Array.from({ length: 50 }, (_, i) => `token ${i}`))
  expect(await wsEcho(`ws://${w.host}:${w.port}/`, ['hello through the NAT', 'y'.repeat(200_000)])).toEqual(['hello through the NAT', 'y'.repeat(200_000)])
  console.log(`[figures] ${String(ready.path)}: 32 MiB at ${download.mbps.toFixed(1)} MB/s`)
}

describe.skipIf(!root)('reaching a hub behind NAT (network namespaces, as root)', () => {
  afterAll(async () => {
    await killAll()
  })

  it.each<[string, NatKind, boolean, string]>([
    ['a hub with a public address: the peer behind a NAT reaches it directly over QUIC', 'public', false, 'direct'],
    ['both behind port-preserving NATs: the DHT path punches through', 'cone', false, 'holepunched'],
    ['both behind symmetric NATs: the peer goes through the blind relay', 'symmetric', true, 'relayed'],
  ])('%s', async (_title, kind, hubRelay, path) => {
    const c = await setUp(kind, hubRelay)
    const peer = join(c)
    const ready = await peer.waitEvent('join_ready', 30_000)
    expect(ready.path).toBe(path)
    await pushTraffic(ready)
  }, 120_000)

  it('both behind symmetric NATs and no relay: a clear error and exit 22 within the connect timeout', async () => {
    const c = await setUp('symmetric', false)
    const started = Date.now()
    const peer = join(c, ['--connect-timeout', '15'])
    const status = await peer.exited
    expect(Date.now() - started).toBeLessThan(15_000 + 5_000)
    expect(status).toBe(22)
    expect(peer.stderr.trim().split('\n').pop()).toMatch(/^hive: hole punching .* failed and no relay is configured.*--relay/)
  }, 120_000)

  it('both behind symmetric NATs and a relay that is not there: exit 23, naming the relay', async () => {
    const c = await setUp('symmetric', false)
    const peer = join(c, ['--connect-timeout', '15', '--relay', 'ab'.repeat(32)])
    expect(await peer.exited).toBe(23)
    expect(peer.stderr.trim().split('\n').pop()).toMatch(/^hive: .*relay/)
  }, 120_000)
})
