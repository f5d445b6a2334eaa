import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { get as httpGet } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, processTree, run, sleep, start, waitForPort, type Managed } from './procs.js'

/** The targets every path reaches: a 64-byte keep-alive HTTP server and an iperf3 server. */
export interface Targets {
  httpPort: number
  iperfPort: number
  stop(): Promise<void>
}

export async function startTargets(httpServerScript: string): Promise<Targets> {
  const iperfPort = await freePort()
  const iperf = start('iperf3', ['-s', '-p', String(iperfPort), '-B', '127.0.0.1'])
  const http = start(process.execPath, [httpServerScript, '0'])
  await waitForPort(iperfPort)
  const httpPort = Number(await firstLine(http, 'the HTTP target', 5_000))
  return { httpPort, iperfPort, stop: async () => void (await Promise.all([iperf.stop(), http.stop()])) }
}

/** One way from a client to the targets. `groups` names the forwarding processes measured. */
export interface Path {
  name: 'direct' | 'quinn' | 'hive' | 'ssh' | 'holesail'
  httpPort: number | null
  iperfPort: number | null
  /** Forwarding processes by role, for CPU and memory; looked up live (sshd forks). */
  groups: Record<string, () => number[]>
  /**
   * Start-up, in ms: the serving side ready (hive: `hub_ready`), and from starting the client
   * side to its first good request through the tunnel (a request made the moment its port opens).
   */
  startup?: { readyMs?: number; firstRequestMs: number }
  stop(): Promise<void>
}

export function directPath(t: Targets): Path {
  return { name: 'direct', httpPort: t.httpPort, iperfPort: t.iperfPort, groups: {}, stop: async () => undefined }
}

/** The first JSON event of this type a hive process printed, polling its stdout every `everyMs`. */
export async function jsonEvent(proc: Managed, event: string, timeoutMs = 15_000, everyMs = 25): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const line = proc.stdout().split('\n').find((l) => l.includes(`"event":"${event}"`))
    if (line) return JSON.parse(line)
    if (Date.now() > deadline) throw new Error(`no ${event}: ${proc.stderr().slice(-500)}`)
    await sleep(everyMs)
  }
}

/** The first line a process printed, polling its stdout every 2 ms. */
export async function firstLine(proc: Managed, what: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (!proc.stdout().includes('\n')) {
    if (Date.now() > deadline || proc.child.exitCode !== null) throw new Error(`${what} did not start: ${proc.stderr().slice(-500)}`)
    await sleep(2)
  }
  return proc.stdout().split('\n')[0]!.trim()
}

/** Polls until one GET through `port` answers 200; resolves with the ms since `since`. */
async function firstGoodRequest(port: number, since: number, timeoutMs = 15_000): Promise<number> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = httpGet({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode === 200))
      })
      req.on('error', () => resolve(false))
    })
    if (ok) return performance.now() - since
    if (performance.now() - since > timeoutMs) throw new Error(`no good request through port ${port} within ${timeoutMs} ms`)
    await sleep(2)
  }
}

export async function hivePath(t: Targets, hiveBin: string): Promise<Path> {
  const config = mkdtempSync(join(tmpdir(), 'hive-bench-'))
  const env = { XDG_CONFIG_HOME: config }
  const started = performance.now()
  const hub = start(process.execPath, [hiveBin, 'share', `127.0.0.1:${t.httpPort}`, `127.0.0.1:${t.iperfPort}`, '-', 'bench-hub', '--ipv4-addr', '127.0.0.1:0', '--ephemeral', '--json', '-q'], { env })
  const ticket = (await jsonEvent(hub, 'hub_ready', 15_000, 2)).ticket as string
  const readyMs = performance.now() - started
  // A fixed port, so that the request can go out the moment the peer listens (it holds it until joined).
  const frontend = await freePort()
  const joining = performance.now()
  const peer = start(process.execPath, [hiveBin, 'join', 'bench-peer', '--ticket', ticket, '--frontend-addr', `127.0.0.1:${frontend}`, '--backend-addr', '127.0.0.1:0', '--ws-addr', '-', '--json', '-q'], { env })
  const firstRequestMs = await firstGoodRequest(frontend, joining)
  const services = (await jsonEvent(peer, 'join_ready')).services as Record<string, string>
  const port = (a: string): number => Number(a.split(':').pop())
  return {
    name: 'hive',
    startup: { readyMs, firstRequestMs },
    httpPort: port(services.frontend!),
    iperfPort: port(services.backend!),
    groups: { hub: () => [hub.child.pid!], peer: () => [peer.child.pid!] },
    stop: async () => {
      await Promise.all([peer.stop(), hub.stop()])
      rmSync(config, { recursive: true, force: true })
    },
  }
}

/**
 * The real holesail forwarder (holesail-server, holesail-client) through holesail-endpoint.cjs,
 * which keeps its DHT on a bootstrap node of its own on loopback, never the public one. One
 * server process serves both targets and one client process forwards both, as hive's hub and
 * peer do. The bootstrap node stands in for the public DHT: it is not counted as a forwarder.
 */
export async function holesailPath(t: Targets, endpointScript: string): Promise<Path> {
  const bootstrap = start(process.execPath, [endpointScript, 'bootstrap'])
  const env = { HOLESAIL_BOOTSTRAP: `127.0.0.1:${await firstLine(bootstrap, 'holesail bootstrap node')}` }
  const started = performance.now()
  const server = start(process.execPath, [endpointScript, 'server', String(t.httpPort), String(t.iperfPort)], { env })
  const [httpKey, iperfKey] = (await firstLine(server, 'holesail server')).split(' ')
  const readyMs = performance.now() - started
  const [httpPort, iperfPort] = [await freePort(), await freePort()]
  const connecting = performance.now()
  const client = start(process.execPath, [endpointScript, 'client', `${httpKey}:${httpPort}`, `${iperfKey}:${iperfPort}`], { env })
  const firstRequestMs = await firstGoodRequest(httpPort, connecting)
  await waitForPort(iperfPort)
  return {
    name: 'holesail',
    startup: { readyMs, firstRequestMs },
    httpPort,
    iperfPort,
    groups: { 'holesail-server': () => [server.child.pid!], 'holesail-client': () => [client.child.pid!] },
    stop: async () => void (await Promise.all([client.stop(), server.stop(), bootstrap.stop()])),
  }
}

export async function quinnPath(endpointScript: string): Promise<Path & { port: number }> {
  const server = start(process.execPath, [endpointScript, 'server'])
  const port = Number(await firstLine(server, 'quinn endpoint', 5_000))
  if (!port) throw new Error(`quinn endpoint did not start: ${server.stderr()}`)
  return { name: 'quinn', httpPort: null, iperfPort: null, port, groups: { server: () => [server.child.pid!] }, stop: () => server.stop() }
}

/**
 * A private sshd's files in `dir`: a generated host key, a user key that is the only one
 * authorised, and a key-only config listening on `listen`:`port`. sshd insists on /run/sshd;
 * it is created if missing (`madeRunDir`: the caller removes it afterwards).
 */
export function prepareSshd(dir: string, port: number, listen: string): { madeRunDir: boolean; config: string } {
  const madeRunDir = !existsSync('/run/sshd')
  if (madeRunDir) mkdirSync('/run/sshd', { mode: 0o755 })
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')])
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user_key')])
  run('cp', [join(dir, 'user_key.pub'), join(dir, 'authorized_keys')])
  const config = join(dir, 'sshd_config')
  writeFileSync(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${listen}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'AllowTcpForwarding yes',
      'MaxStartups 2000',
      'MaxSessions 2000',
    ].join('\n') + '\n',
  )
  return { madeRunDir, config }
}

/**
 * `ssh -L` to a private sshd on a loopback port (prepareSshd), everything in a temporary
 * directory.
 */
export async function sshPath(t: Targets): Promise<Path> {
  const dir = mkdtempSync(join(tmpdir(), 'hive-bench-ssh-'))
  const sshdPort = await freePort()
  const { madeRunDir, config } = prepareSshd(dir, sshdPort, '127.0.0.1')
  const sshd = start('/usr/sbin/sshd', ['-D', '-e', '-f', config])
  await waitForPort(sshdPort)
  const [httpPort, iperfPort] = [await freePort(), await freePort()]
  const user = process.env.USER ?? 'root'
  const connecting = performance.now()
  const ssh = start('ssh', [
    '-N', '-i', join(dir, 'user_key'), '-p', String(sshdPort),
    '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'ExitOnForwardFailure=yes',
    '-L', `127.0.0.1:${httpPort}:127.0.0.1:${t.httpPort}`, '-L', `127.0.0.1:${iperfPort}:127.0.0.1:${t.iperfPort}`,
    `${user}@127.0.0.1`,
  ])
  await waitForPort(httpPort, 15_000).catch((err: Error) => {
    throw new Error(`${err.message}; ssh said: ${ssh.stderr().slice(-400)} sshd said: ${sshd.stderr().slice(-400)}`)
  })
  const firstRequestMs = await firstGoodRequest(httpPort, connecting)
  await waitForPort(iperfPort)
  return {
    name: 'ssh',
    startup: { firstRequestMs },
    httpPort,
    iperfPort,
    // sshd forks a process per session: count the listener's whole tree.
    groups: { sshd: () => processTree(sshd.child.pid!), ssh: () => [ssh.child.pid!] },
    stop: async () => {
      await ssh.stop()
      await sshd.stop()
      rmSync(dir, { recursive: true, force: true })
      if (madeRunDir) rmSync('/run/sshd', { recursive: true, force: true })
    },
  }
}
