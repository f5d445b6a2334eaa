import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { inNetns, ip, makeNetns, removeNetns } from './netns.js'

/**
 * A small "internet" with NATs in network namespaces, for NAT-traversal tests:
 *
 *   internet ns: bridge br0 198.18.0.1/24 (runs the DHT bootstrap nodes and the blind relay)
 *     ├─ router A: wan 198.18.0.11 ── lan 198.18.1.1/24 ── hub  198.18.1.2
 *     └─ router B: wan 198.18.0.12 ── lan 198.18.2.1/24 ── peer 198.18.2.2
 *   'public': the hub sits on the bridge itself at 198.18.0.2; the peer stays behind a cone NAT.
 *
 * Addresses come from 198.18.0.0/15 (benchmarking range): it can never reach a real network, and
 * hyperdht copes with it. Its `bogon` package calls the range *reserved*, not private, so
 * hyperdht never tries its same-LAN shortcut between these hosts (it would with 10/8 or
 * 100.64/10) and a public hub's advertised address is skipped in favour of the address the DHT
 * saw, which is the same one here. Nothing needed 100.64.0.0/10.
 *
 * 'cone' is MASQUERADE, which keeps the source port: a consistent mapping, so hyperdht punches.
 * 'symmetric' is MASQUERADE --random-fully: a new port per destination, so two of them cannot
 * punch and need a relay.
 */
export type NatKind = 'public' | 'cone' | 'symmetric'

export interface NatLab {
  kind: NatKind
  /** Namespace of the internet segment; run the DHT bootstrap and the relay here. */
  internet: string
  internetAddr: string
  hubNs: string
  /** The hub's own address, and the address the internet sees it from. */
  hubAddr: string
  hubPublicAddr: string
  peerNs: string
  peerAddr: string
  peerPublicAddr: string
  routers: string[]
  destroy(): void
}

export const INTERNET_ADDR = '198.18.0.1'

/** Builds the topology for one case; call destroy() when done (namespaces take their links with them). */
export async function buildNatLab(kind: NatKind): Promise<NatLab> {
  const made: string[] = []
  const ns = (label: string): string => {
    const name = makeNetns(label)
    made.push(name)
    return name
  }
  const destroy = (): void => {
    for (const name of made.reverse()) removeNetns(name)
    made.length = 0
  }
  try {
    const internet = ns('inet')
    ip('-n', internet, 'link', 'add', 'br0', 'type', 'bridge')
    ip('-n', internet, 'addr', 'add', `${INTERNET_ADDR}/24`, 'dev', 'br0')
    ip('-n', internet, 'link', 'set', 'br0', 'up')

    let ports = 0
    // Creating the pair inside the namespaces keeps any name off the root namespace, where
    // other test processes make links of their own.
    const wire = (a: string, aIf: string, aAddr: string, b: string, bIf: string, bAddr: string | null): void => {
      ip('-n', a, 'link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b)
      ip('-n', a, 'addr', 'add', aAddr, 'dev', aIf)
      if (bAddr) ip('-n', b, 'addr', 'add', bAddr, 'dev', bIf)
      ip('-n', a, 'link', 'set', aIf, 'up')
      ip('-n', b, 'link', 'set', bIf, 'up')
    }
    const plugIn = (host: string, ifName: string, addr: string): void => {
      const port = `port${ports++}`
      wire(host, ifName, `${addr}/24`, internet, port, null)
      ip('-n', internet, 'link', 'set', port, 'master', 'br0')
    }
    const behindNat = (label: string, n: number, randomPorts: boolean) => {
      const router = ns(`r${label}`)
      const host = ns(label)
      const publicAddr = `198.18.0.${10 + n}`
      plugIn(router, 'wan', publicAddr)
      wire(router, 'lan', `198.18.${n}.1/24`, host, 'eth0', `198.18.${n}.2/24`)
      ip('-n', host, 'route', 'add', 'default', 'via', `198.18.${n}.1`)
      inNetns(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
      const ipt = (...args: string[]): string => inNetns(router, 'iptables', ...args)
      ipt('-t', 'nat', '-A', 'POSTROUTING', '-o', 'wan', '-j', 'MASQUERADE', ...(randomPorts ? ['--random-fully'] : []))
      // A home router drops what nobody inside asked for.
      ipt('-A', 'FORWARD', '-i', 'wan', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
      ipt('-A', 'FORWARD', '-i', 'wan', '-j', 'DROP')
      // Without this, a punch packet that beats the inside host's first packet becomes a
      // conntrack entry to the router itself; the host's own packet then clashes with it and
      // MASQUERADE gives it another port, so punching a 'cone' fails. Dropping it in INPUT
      // means the entry is never confirmed.
      ipt('-A', 'INPUT', '-i', 'wan', '-m', 'conntrack', '!', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'DROP')
      return { ns: host, router, addr: `198.18.${n}.2`, publicAddr }
    }

    let hub: { ns: string; addr: string; publicAddr: string; router?: string }
    if (kind === 'public') {
      const host = ns('hub')
      plugIn(host, 'eth0', '198.18.0.2')
      hub = { ns: host, addr: '198.18.0.2', publicAddr: '198.18.0.2' }
    } else {
      hub = behindNat('hub', 1, kind === 'symmetric')
    }
    const peer = behindNat('peer', 2, kind === 'symmetric')

    return {
      kind,
      internet,
      internetAddr: INTERNET_ADDR,
      hubNs: hub.ns,
      hubAddr: hub.addr,
      hubPublicAddr: hub.publicAddr,
      peerNs: peer.ns,
      peerAddr: peer.addr,
      peerPublicAddr: peer.publicAddr,
      routers: [hub.router, peer.router].filter((r): r is string => r !== undefined),
      destroy,
    }
  } catch (err) {
    destroy()
    throw err
  }
}

/**
 * A point-to-point link between the test process (root namespace) and one host of the lab,
 * 198.19.N.1 on the test's side and 198.19.N.2 on the host's, with no route beyond: the hub
 * reaches the test's services over it, and the test reaches the peer's local ports. It is no
 * path between hub and peer, so it changes nothing about the NATs between them.
 *
 * N is the first subnet no interface of the root namespace holds, claimed by naming the link
 * `hvtN`: a second test process racing for the same N fails to create the link and moves on.
 */
export function linkToTest(hostNs: string): { testAddr: string; hostAddr: string } {
  const held = new Set([...ip('-4', '-o', 'addr', 'show').matchAll(/inet 198\.19\.(\d+)\./g)].map((m) => Number(m[1])))
  for (let n = 1; n < 256; n++) {
    if (held.has(n)) continue
    const name = `hvt${n}`
    try {
      ip('link', 'add', name, 'type', 'veth', 'peer', 'name', 'tst0', 'netns', hostNs)
    } catch {
      continue // another test process took it since the listing
    }
    ip('addr', 'add', `198.19.${n}.1/30`, 'dev', name)
    ip('-n', hostNs, 'addr', 'add', `198.19.${n}.2/30`, 'dev', 'tst0')
    ip('link', 'set', name, 'up')
    ip('-n', hostNs, 'link', 'set', 'tst0', 'up')
    return { testAddr: `198.19.${n}.1`, hostAddr: `198.19.${n}.2` }
  }
  throw new Error('no free 198.19.N.0/30 for a test link: remove stale hvt* links (ip link del)')
}

export interface DhtInternet {
  /** Pass as `bootstrap` to every hyperdht node in the lab, so none looks for the public ones. */
  bootstrap: { host: string; port: number }[]
  /** Hex public key of the blind relay, for `relayThrough`. */
  relayPublicKey: string
  relayAddr: { host: string; port: number }
  stop(): Promise<void>
}

// One bootstrapper is enough to find each other but not to punch: a hyperdht holepuncher
// learns its NAT type by pinging up to 4 routing-table nodes and decides only after 3 answers,
// so a lone node (or two) ends every punch in HOLEPUNCH_ABORTED. Bootstrapper + 3 persistent
// nodes leaves a spare.
const INTERNET_SCRIPT = `
const DHT = require('hyperdht'); const { Server } = require('blind-relay')
const host = process.argv[1]
;(async () => {
  const nodes = [DHT.bootstrapper(49737, host)]
  await nodes[0].fullyBootstrapped()
  const bootstrap = [{ host, port: 49737 }]
  for (let i = 1; i <= 3; i++) {
    const n = new DHT({ bootstrap, port: 49737 + i, ephemeral: false, firewalled: false })
    await n.fullyBootstrapped(); nodes.push(n)
  }
  const relayDht = new DHT({ bootstrap, port: 49800, ephemeral: true, firewalled: false })
  const relay = new Server({ createStream: (o) => relayDht.createRawStream({ ...o, framed: true }) })
  const server = relayDht.createServer((s) => {
    s.on('error', () => {})
    relay.accept(s, { id: s.remotePublicKey }).on('error', () => {})
  })
  await server.listen(DHT.keyPair())
  console.log(JSON.stringify({ bootstrap, relayPublicKey: server.publicKey.toString('hex'), relayAddr: relayDht.remoteAddress() }))
  process.stdin.on('end', async () => {
    await relay.close(); await relayDht.destroy()
    for (const n of nodes.reverse()) await n.destroy()
  }).resume()
})()
`

/**
 * Starts the DHT bootstrap nodes and a blind relay in the lab's internet namespace. hyperdht and
 * blind-relay are not hive dependencies: nodePath is a node_modules directory holding them.
 */
export async function startDhtInternet(lab: NatLab, nodePath: string): Promise<DhtInternet> {
  const child = spawn('ip', ['netns', 'exec', lab.internet, 'node', '-e', INTERNET_SCRIPT, lab.internetAddr], {
    env: { ...process.env, NODE_PATH: nodePath },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.once('error', () => resolve())
  })
  const lines = createInterface({ input: child.stdout })
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve)
    child.once('error', (err) => reject(new Error(`cannot start the DHT internet: ${err.message}`)))
    child.once('exit', (code) => reject(new Error(`DHT internet exited with ${code} before it was ready`)))
  })
  lines.close()
  const info = JSON.parse(first) as Omit<DhtInternet, 'stop'>
  return {
    ...info,
    async stop() {
      child.stdin.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}
