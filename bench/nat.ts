import { createServer, get, type Agent } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { buildNatLab, linkToTest, type NatKind } from '../test/helpers/nat-lab.js'
import { canUseNetns } from '../test/helpers/netns.js'
import { jsonEvent } from './paths.js'
import { cpuSeconds, start, type Managed } from './procs.js'

/**
 * `npm run bench:nat` (as root): the three paths of the NAT issue, each in its own namespace
 * lab with real NATs (test/helpers/nat-lab.ts), measured the same way: download throughput,
 * CPU seconds of hub + peer per GiB moved, and the time of a request on a fresh connection.
 * Writes bench/NAT.md.
 */
const REPO = join(import.meta.dirname, '..', '..')
const HIVE = join(REPO, 'dist', 'cli.js')
const SIZE = 256 * 1024 * 1024
const CHUNK = Buffer.alloc(1024 * 1024, 7)

interface Figures {
  path: string
  mbps: number[]
  cpuPerGiB: number
  freshMs: number
}

function serveBytes(host: string): Promise<{ port: number; close: () => void }> {
  const server = createServer((req, res) => {
    const n = Number(/^\/bytes\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0)
    res.setHeader('content-length', String(n))
    let left = n
    const pump = (): void => {
      while (left > 0) {
        const part = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left)
        left -= part.length
        if (!res.write(part)) return void res.once('drain', pump)
      }
      res.end()
    }
    pump()
  })
  return new Promise((resolve) => server.listen(0, host, () => resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() })))
}

function fetchBytes(host: string, port: number, n: number): Promise<number> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    get({ host, port, path: `/bytes/${n}`, agent: false as unknown as Agent }, (res) => {
      let got = 0
      res.on('data', (c: Buffer) => (got += c.length))
      res.on('end', () => (got === n ? resolve(performance.now() - started) : reject(new Error(`got ${got} of ${n} bytes`))))
      res.on('error', reject)
    }).on('error', reject)
  })
}

async function measure(kind: NatKind, useRelay: boolean, label: string): Promise<Figures> {
  const lab = await buildNatLab(kind)
  const procs: Managed[] = []
  try {
    const toHub = linkToTest(lab.hubNs)
    const toPeer = linkToTest(lab.peerNs)
    const service = await serveBytes(toHub.testAddr)
    const bootstrap = `${lab.internetAddr}:49737`
    const inNs = (ns: string, args: string[]): Managed => {
      const m = start('ip', ['netns', 'exec', ns, HIVE, ...args], { env: { HIVE_DHT_BOOTSTRAP: bootstrap } })
      procs.push(m)
      return m
    }
    const relay = inNs(lab.internet, ['relay', '--bind', bootstrap, '--ephemeral', '--json'])
    const relayKey = (await jsonEvent(relay, 'relay_ready', 30_000)).relay as string
    const hub = inNs(lab.hubNs, ['share', '-', `${toHub.testAddr}:${service.port}`, '-', 'bench-hub', '--ephemeral', '--json', '--ipv4-addr', `${lab.hubAddr}:0`, ...(useRelay ? ['--relay', relayKey] : [])])
    const ticket = (await jsonEvent(hub, 'hub_ready', 30_000)).ticket as string
    await jsonEvent(hub, 'dht_ready', 30_000)
    const peer = inNs(lab.peerNs, ['join', 'bench-peer', '--ticket', ticket, '--json', '--frontend-addr', '-', '--ws-addr', '-', '--backend-addr', `${toPeer.hostAddr}:0`])
    const ready = await jsonEvent(peer, 'join_ready', 30_000)
    if (ready.path !== label) throw new Error(`expected the ${label} path, got ${String(ready.path)}`)
    const port = Number(String((ready.services as Record<string, string>).backend).split(':')[1])
    await fetchBytes(toPeer.hostAddr, port, 1024 * 1024) // warm-up
    const pids = [hub.child.pid!, peer.child.pid!]
    const cpuBefore = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0)
    const mbps: number[] = []
    for (let i = 0; i < 3; i++) mbps.push(SIZE / 1e6 / ((await fetchBytes(toPeer.hostAddr, port, SIZE)) / 1000))
    const cpu = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - cpuBefore
    const fresh: number[] = []
    for (let i = 0; i < 30; i++) fresh.push(await fetchBytes(toPeer.hostAddr, port, 100))
    fresh.sort((a, b) => a - b)
    service.close()
    return { path: label, mbps, cpuPerGiB: cpu / ((3 * SIZE) / 2 ** 30), freshMs: fresh[Math.floor(fresh.length / 2)]! }
  } finally {
    for (const p of procs.reverse()) await p.stop()
    lab.destroy()
  }
}

async function main(): Promise<void> {
  if (!canUseNetns()) throw new Error('bench:nat builds network namespaces: run it as root')
  const rows: Figures[] = []
  for (const [kind, relay, label] of [['public', false, 'direct'], ['cone', false, 'holepunched'], ['symmetric', true, 'relayed']] as const) {
    const figures = await measure(kind, relay, label)
    console.log(JSON.stringify(figures))
    rows.push(figures)
  }
  const direct = rows[0]!
  const med = (v: number[]): number => [...v].sort((a, b) => a - b)[1]!
  const lines = [
    '# NAT paths (`npm run bench:nat`)',
    '',
    `One run, ${new Date().toISOString().slice(0, 10)}, on this project's test machine. Each path in its own lab of network`,
    'namespaces with real NATs (test/helpers/nat-lab.ts): `direct` is QUIC to a hub with a public address from a peer',
    'behind a cone NAT; `holepunched` is the DHT path between two cone NATs; `relayed` is the DHT path between two',
    'symmetric NATs through `hive relay`. No delay or loss is added: the figures show what each path costs in CPU,',
    'not what a real link allows.',
    '',
    '| path | 256 MiB download, MB/s (median of 3; all 3) | vs direct | CPU s per GiB (hub + peer) | request on a fresh connection, ms (median of 30) |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.path} | ${med(r.mbps).toFixed(0)} (${r.mbps.map((m) => m.toFixed(0)).join(', ')}) | ${(med(r.mbps) / med(direct.mbps)).toFixed(2)}x | ${r.cpuPerGiB.toFixed(1)} | ${r.freshMs.toFixed(2)} |`),
    '',
  ]
  writeFileSync(join(REPO, 'bench', 'NAT.md'), lines.join('\n'))
  console.log(lines.join('\n'))
}

main().catch((err: unknown) => {
  console.error(`bench:nat: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
