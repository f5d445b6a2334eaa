import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { iperf, wrk, type Where } from './measure.js'
import { firstLine, jsonEvent, prepareSshd } from './paths.js'
import { hasCommand, run, sleep, start, type Managed } from './procs.js'
import { WAN_END, WAN_START } from './wan-section.js'
import { PROFILES, WAN_PATHS, renderWan, type WanPath, type WanResults } from './wan-report.js'

/**
 * `npm run bench -- --wan` (as root): direct, hive over QUIC, hive over the DHT path (UDX)
 * and `ssh -L`, between two network namespaces joined by an emulated link (bench/netem, a
 * copy of shared/netem: this kernel has no netem qdisc). Servers live in `b`, clients in `a`;
 * each path gets a fresh tunnel for each profile. Writes the WAN section of bench/RESULTS.md.
 */
const HERE = import.meta.dirname
const REPO = join(HERE, '..', '..')
const HIVE = join(REPO, 'dist', 'cli.js')
const TOPO = join(REPO, 'bench', 'netem', 'topo.sh')
const PREFIX = 'hivewan'
const NS_A = `${PREFIX}-a`
const NS_B = `${PREFIX}-b`
const ADDR_B = '198.18.0.2'
const BOOTSTRAP = `${ADDR_B}:49737`
const SSHD_PORT = 2222
/** Client-side ports inside namespace a, which holds nothing else. */
const LOCAL_HTTP = 18080
const LOCAL_IPERF = 18081

interface Options {
  quick: boolean
  profiles: string[]
  only: WanPath[]
  out: string
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { quick: false, profiles: Object.keys(PROFILES), only: [...WAN_PATHS], out: join(REPO, 'bench', 'RESULTS.md') }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--wan') continue
    if (arg === '--quick') opts.quick = true
    else if (arg === '--profiles') opts.profiles = argv[++i]!.split(',')
    else if (arg === '--only') opts.only = argv[++i]!.split(',') as WanPath[]
    else if (arg === '--out') opts.out = argv[++i]!
    else throw new Error(`unknown option ${arg}; with --wan use --quick, --profiles ${Object.keys(PROFILES).join(',')}, --only ${WAN_PATHS.join(',')}, --out FILE`)
  }
  for (const p of opts.profiles) if (!PROFILES[p]) throw new Error(`unknown profile ${p}; pick from ${Object.keys(PROFILES).join(', ')}`)
  for (const p of opts.only) if (!WAN_PATHS.includes(p)) throw new Error(`unknown path ${p}; pick from ${WAN_PATHS.join(', ')}`)
  return opts
}

function topo(args: string[]): void {
  const r = run('bash', [TOPO, ...args], 30_000)
  if (r.status !== 0) throw new Error(`topo.sh ${args.join(' ')} failed: ${r.stderr.trim() || r.stdout.trim()}`)
}

function inNs(ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Managed {
  return start('ip', ['netns', 'exec', ns, cmd, ...args], { env: { NETEM_PREFIX: PREFIX, HIVE_DHT_BOOTSTRAP: BOOTSTRAP, ...env } })
}

/** Polls until a TCP connect to host:port from inside `ns` succeeds. */
async function waitInNs(ns: string, host: string, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (run('ip', ['netns', 'exec', ns, 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`], 5_000).status !== 0) {
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} in ${ns}`)
    await sleep(100)
  }
}

/** The servers, all in namespace b: HTTP, iperf3, sshd (when ssh -L is measured), a DHT bootstrap node, one hub. */
interface Servers {
  httpPort: number
  iperfPort: number
  ticket: string
  sshDir: string
  stop(): Promise<void>
}

async function startServers(withSsh: boolean): Promise<Servers> {
  const procs: Managed[] = []
  const stopAll = async (): Promise<void> => void (await Promise.all(procs.reverse().map((p) => p.stop())))
  try {
    const iperfPort = 5201
    procs.push(inNs(NS_B, 'iperf3', ['-s', '-p', String(iperfPort)]))
    const http = inNs(NS_B, process.execPath, [join(HERE, 'http-server.js'), '0', '0.0.0.0'])
    procs.push(http)
    const httpPort = Number(await firstLine(http, 'the HTTP target', 10_000))
    if (!httpPort) throw new Error(`the HTTP target did not start: ${http.stderr()}`)
    const sshDir = mkdtempSync(join(tmpdir(), 'hive-wan-ssh-'))
    const sshd = withSsh ? startSshd(sshDir) : null
    if (sshd) procs.push(sshd)
    const relay = inNs(NS_B, process.execPath, [HIVE, 'relay', '--bind', BOOTSTRAP, '--ephemeral', '--json'])
    procs.push(relay)
    await jsonEvent(relay, 'relay_ready', 30_000)
    const hub = inNs(NS_B, process.execPath, [HIVE, 'share', `127.0.0.1:${httpPort}`, `127.0.0.1:${iperfPort}`, '-', 'wan-hub', '--ipv4-addr', `${ADDR_B}:0`, '--ephemeral', '--json', '-q'])
    procs.push(hub)
    const ticket = (await jsonEvent(hub, 'hub_ready', 30_000)).ticket as string
    await jsonEvent(hub, 'dht_ready', 30_000)
    if (withSsh) await waitInNs(NS_B, ADDR_B, SSHD_PORT)
    const stop = async (): Promise<void> => {
      await stopAll()
      rmSync(sshDir, { recursive: true, force: true })
      if (sshd?.madeRunDir) rmSync('/run/sshd', { recursive: true, force: true })
    }
    return { httpPort, iperfPort, ticket, sshDir, stop }
  } catch (err) {
    await stopAll()
    throw err
  }
}

function startSshd(dir: string): Managed & { madeRunDir: boolean } {
  const { madeRunDir, config } = prepareSshd(dir, SSHD_PORT, ADDR_B)
  return Object.assign(inNs(NS_B, '/usr/sbin/sshd', ['-D', '-e', '-f', config]), { madeRunDir })
}

/** One path's client side in namespace a: where its HTTP and iperf3 ports are, and how to end it. */
interface Tunnel {
  http: Where & { port: number }
  iperf: Where & { port: number }
  stop(): Promise<void>
}

async function openTunnel(path: WanPath, s: Servers): Promise<Tunnel> {
  const local = (port: number): Where & { port: number } => ({ host: '127.0.0.1', netns: NS_A, reverse: true, port })
  if (path === 'direct') {
    return { http: { host: ADDR_B, netns: NS_A, reverse: true, port: s.httpPort }, iperf: { host: ADDR_B, netns: NS_A, reverse: true, port: s.iperfPort }, stop: async () => undefined }
  }
  if (path === 'ssh') {
    const user = process.env.USER ?? 'root'
    const ssh = inNs(NS_A, 'ssh', [
      '-N', '-i', join(s.sshDir, 'user_key'), '-p', String(SSHD_PORT),
      '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(s.sshDir, 'known_hosts')}`, '-o', 'ExitOnForwardFailure=yes',
      '-L', `127.0.0.1:${LOCAL_HTTP}:127.0.0.1:${s.httpPort}`, '-L', `127.0.0.1:${LOCAL_IPERF}:127.0.0.1:${s.iperfPort}`,
      `${user}@${ADDR_B}`,
    ])
    await waitInNs(NS_A, '127.0.0.1', LOCAL_IPERF).catch((err: Error) => {
      throw new Error(`${err.message}; ssh said: ${ssh.stderr().slice(-400)}`)
    })
    return { http: local(LOCAL_HTTP), iperf: local(LOCAL_IPERF), stop: () => ssh.stop() }
  }
  const transport = path === 'hive-udx' ? 'udx' : 'quic'
  const config = mkdtempSync(join(tmpdir(), 'hive-wan-peer-'))
  const peer = inNs(
    NS_A,
    process.execPath,
    [HIVE, 'join', 'wan-peer', '--transport', transport, '--frontend-addr', `127.0.0.1:${LOCAL_HTTP}`, '--backend-addr', `127.0.0.1:${LOCAL_IPERF}`, '--ws-addr', '-', '--json', '-q'],
    { HIVE_TICKET: s.ticket, XDG_CONFIG_HOME: config },
  )
  await jsonEvent(peer, 'join_ready', 30_000)
  return {
    http: local(LOCAL_HTTP),
    iperf: local(LOCAL_IPERF),
    stop: async () => (await peer.stop(), rmSync(config, { recursive: true, force: true })),
  }
}

function freshInNs(at: Where & { port: number }, runs: number): number {
  const r = run('ip', ['netns', 'exec', at.netns!, process.execPath, join(HERE, 'wan-client.js'), 'fresh', at.host, String(at.port), String(runs)], 120_000)
  if (r.status !== 0) throw new Error(`fresh requests failed: ${r.stderr.slice(-300)}`)
  return (JSON.parse(r.stdout) as { ms: number }).ms
}

async function measure(path: WanPath, profile: string, s: Servers, quick: boolean): Promise<Record<string, number>> {
  const seconds = quick ? 3 : 8
  const tunnel = await openTunnel(path, s)
  const log = (what: string): void => void process.stderr.write(`  ${profile} ${path}: ${what}\n`)
  try {
    const f: Record<string, number> = {}
    log('1 stream')
    f.tput1 = ((await iperf(tunnel.iperf.port, 1, seconds, tunnel.iperf)).mbps * 8)
    if (!PROFILES[profile]!.full) return f
    log('8 streams')
    f.tput8 = (await iperf(tunnel.iperf.port, 8, seconds, tunnel.iperf)).mbps * 8
    log('fresh connections')
    f.freshMs = freshInNs(tunnel.http, quick ? 5 : 20)
    log('32 keep-alive clients')
    const load = wrk(tunnel.http.port, 32, seconds, tunnel.http)
    Object.assign(f, { rps32: load.rps, p50ms32: load.p50ms, p99ms32: load.p99ms })
    return f
  } finally {
    await tunnel.stop()
  }
}

/** Kills whatever runs in the two namespaces and removes them. */
function clearNamespaces(): void {
  // sshd leaves its session processes behind when the listener stops: nothing may outlive the namespaces.
  for (const ns of [NS_A, NS_B]) for (const pid of run('ip', ['netns', 'pids', ns]).stdout.split('\n').filter(Boolean)) run('kill', ['-9', pid])
  topo(['down'])
}

export async function mainWan(argv: string[]): Promise<void> {
  const opts = parseArgs(argv)
  if (process.getuid?.() !== 0) throw new Error('the WAN bench builds network namespaces: run it as root')
  const tools = [['iperf3', 'iperf3'], ['wrk', 'wrk'], ['python3', 'python3'], ...(opts.only.includes('ssh') ? [['/usr/sbin/sshd', 'openssh-server'], ['ssh', 'openssh-client']] : [])]
  const missing = tools.filter(([c]) => !hasCommand(c!))
  if (missing.length > 0) throw new Error(`missing tools; install them with: apt-get install -y ${missing.map(([, p]) => p).join(' ')}`)
  const results: WanResults = {}
  process.env.NETEM_PREFIX = PREFIX
  // A run killed before its cleanup leaves its servers in the namespaces, on the ports this one needs.
  clearNamespaces()
  topo(['up'])
  let servers: Servers | undefined
  try {
    servers = await startServers(opts.only.includes('ssh'))
    for (const profile of opts.profiles) {
      process.stderr.write(`profile ${profile}: ${PROFILES[profile]!.title}\n`)
      topo(['up', ...PROFILES[profile]!.netem])
      await sleep(500)
      for (const path of opts.only) ((results[profile] ??= {})[path] = await measure(path, profile, servers, opts.quick))
    }
  } finally {
    await servers?.stop()
    clearNamespaces()
  }
  const facts = { date: new Date().toISOString(), node: process.version, cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', quick: opts.quick }
  const section = renderWan(results, facts)
  writeSection(opts.out, section)
  process.stderr.write(`wrote the WAN section of ${opts.out}\n`)
  process.stdout.write(section)
}

/** Replaces the WAN section of RESULTS.md (or appends one), leaving the loopback part alone. */
function writeSection(file: string, section: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const block = `${WAN_START}\n${section}${WAN_END}\n`
  const at = old.indexOf(WAN_START)
  const end = old.indexOf(WAN_END)
  const next = at >= 0 && end > at ? old.slice(0, at) + block + old.slice(end + WAN_END.length + 1) : `${old.trimEnd()}\n\n${block}`
  writeFileSync(file, next)
}
