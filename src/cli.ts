#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander'
import { HiveError, errorMessage, isHiveError } from './errors.js'
import { exitFor } from './cli/exit-codes.js'
import type { JoinOptions } from './cli/join.js'
import { createLogger } from './cli/logger.js'
import { Reporter } from './cli/reporter.js'
import type { ShareOptions } from './cli/share.js'
import type { RelayOptions } from './cli/relay.js'
import { DEFAULT_HUB_LIMITS } from './hub/limits.js'
import { ShutdownSignals } from './cli/shutdown.js'
import { PUBLIC_MAILBOX } from './wormhole/public-mailbox.js'
import { useDefaultQuicThreads } from './transport/index.js'
import { commandAfterDashes } from './cli/child-command.js'
import { keepYoungGenerationSmall } from './cli/young-generation.js'

useDefaultQuicThreads()
keepYoungGenerationSmall()

interface GlobalOptions {
  verbose: number
  statsInterval: string
  quiet?: boolean
  json?: boolean
  alpn?: string
  wormholeRelay: string
  dhtBootstrap?: string
  relay?: string[]
}

const SHARE_EXAMPLES = `
Examples:
  # share a model server and a web app by name
  $ hive share gpu-box ollama=127.0.0.1:11434 web=127.0.0.1:3000

  # the older form: frontend, backend and websocket (- leaves one out), then the hub name
  $ hive share 127.0.0.1:3000 127.0.0.1:8000 - my-hub

  # a throwaway hub for a CI job, bound to loopback, with JSON events on stdout
  $ hive share ci-hub api=127.0.0.1:8000 db=127.0.0.1:5432 --ephemeral --ipv4-addr 127.0.0.1:0 --json

  # run a script once the hub is ready (it gets HIVE_TICKET); the hub stops when it exits
  $ hive share ci-hub api=127.0.0.1:8000 --ephemeral -- ./start-peers.sh

  # also hand out short join codes, through a self-hosted mailbox server
  $ hive share my-hub web=127.0.0.1:3000 --wormhole --wormhole-relay ws://mailbox.example:4000/v1
`

const JOIN_EXAMPLES = `
Examples:
  $ hive join laptop --ticket -              # paste the ticket when asked
  $ HIVE_TICKET=hive1... hive join laptop --expose web=127.0.0.1:5173
  $ pbpaste | hive join laptop --ticket - --skip db
  $ hive join laptop --join-code 5-hamburger-endorse
  $ hive join laptop --hub my-hub              # a hub joined before (remembered; see \`hive hubs\`)
  # in CI: the tunnel lives as long as the tests, which find the services in HIVE_<SERVICE>_URL
  $ HIVE_TICKET=hive1... hive join ci -- npm test
`

const RELAY_EXAMPLES = `
Examples:
  # self-host the rendezvous on a public machine, then point hubs and peers at it
  $ hive relay --bind 0.0.0.0:49737
  $ hive share my-hub web=127.0.0.1:3000 --dht-bootstrap relay.example.org:49737 --relay <KEY>
  $ hive join laptop --ticket - --dht-bootstrap relay.example.org:49737

  # also the mailbox for join codes (the stock wormhole clients can use it too)
  $ hive relay --bind 0.0.0.0:49737 --mailbox-port 4000
  $ hive share my-hub web=127.0.0.1:3000 --wormhole --wormhole-relay ws://relay.example.org:4000/v1
`

const PEERS_HELP = `
A hub knows each peer by its key (peer id). By default a peer with the ticket is enrolled on its
first join; \`hive share --trusted-only\` admits enrolled peers only. A revoked key is refused,
even with a valid ticket, until allowed again. While the hub runs, these commands reach it
through its control socket (FILE.sock beside the key, mode 0600) and take effect at once.

Examples:
  $ hive peers                              # list: name, peer id, state, added, last seen
  $ hive peers revoke laptop                # by name or by peer id
  $ hive peers allow 12D3KooW... ci-runner  # enrol a key before its first join
  $ hive peers remove old-laptop            # forget a peer (a revoked one may then enrol again)
`

const HUBS_HELP = `
A peer remembers the ticket of each hub it joins, in $XDG_CONFIG_HOME/hive/hubs/HUB (mode 0600):
pair once with a join code, then rejoin by name.

Examples:
  $ hive join laptop --join-code 7-crossover-clockwork   # once
  $ hive join laptop --hub my-hub                        # every day after
  $ hive hubs forget my-hub
`

const EXIT_CODES = `
Exit codes:
  0 ok, or stopped with Ctrl+C     6 token refused          11 QUIC library unavailable
  1 internal error                 7 protocol mismatch      12 identity file unusable
  2 bad usage                      8 address in use         13 protocol violation
  3 invalid ticket                 9 hub stopped           130 interrupted twice
  4 hub unreachable               10 hub lost
  5 hub identity mismatch         14 wrong join code        17 join code crowded
                                  15 mailbox unreachable    18 nobody shares that code
                                  16 mailbox refused        19 hub full
 20 DHT unreachable  21 hub not on the DHT  22 hole punching failed, no relay  23 relay failed
 24 this peer was revoked  25 hub admits enrolled peers only  127 command after -- did not start
`

function main(argv: string[]): void {
  const exit = (status: number): void => process.exit(status)
  const shutdown = new ShutdownSignals(exit)
  shutdown.install()
  // A reader that goes away (`hive share | head -1`) must not end a hub or a peer: without a
  // listener, EPIPE on stdout or stderr would be an uncaught exception. Later writes are lost.
  for (const out of [process.stdout, process.stderr]) out.on('error', () => undefined)
  const program = new Command()
    .name('hive')
    .description('Share local TCP services between machines over encrypted QUIC.')
    .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
    .option('-v, --verbose', 'more diagnostic logs on stderr (-v warn, -vv info, -vvv debug, -vvvv trace)', (_: string, n: number) => n + 1, 0)
    .option('-q, --quiet', 'show only errors and data')
    .option('--json', 'newline-delimited JSON events on stdout; human lines stay on stderr')
    .option('--stats-interval <SECONDS>', 'with --json: a stats event (peers, open connections, bytes and rates per service) this often; 0 for none', '10')
    .addOption(new Option('--alpn <protocol>', 'application protocol carried in the hello').choices(['hivemind', 'federated-hivemind']))
    .addOption(new Option('--wormhole-relay <URL>', 'Magic Wormhole mailbox server for join codes').env('HIVE_WORMHOLE_RELAY').default(PUBLIC_MAILBOX))
    .addOption(new Option('--dht-bootstrap <HOST:PORT,...>', 'DHT nodes for reaching hubs behind NAT (default: the public hyperdht nodes); none: direct QUIC only').env('HIVE_DHT_BOOTSTRAP'))
    .addOption(
      new Option('--relay <KEY>', 'blind relay (its key, from `hive relay`) for when hole punching fails; repeatable, or comma-separated in the env')
        .env('HIVE_RELAY')
        .argParser((v: string, all: string[] | undefined) => [...(all ?? []), ...v.split(',')]),
    )
    .addHelpText('after', EXIT_CODES)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()

  const context = (cmd: Command): { reporter: Reporter; globals: GlobalOptions; logger: ReturnType<typeof createLogger> } => {
    const globals = cmd.optsWithGlobals<GlobalOptions>()
    return { globals, reporter: new Reporter(globals.json === true, globals.quiet === true), logger: createLogger(globals.verbose, globals.quiet === true) }
  }

  program
    .command('share')
    .description('run a hub: share local services by name and print a ticket')
    .usage('[options] <NAME> <SERVICE=HOST:PORT>...  (or, as before: <FRONTEND> <BACKEND> <WEBSOCKET> <NAME>)')
    .argument('<NAME>', 'the hub name peers will see')
    .argument('[SERVICE=HOST:PORT...]', `up to 255 services, each a name (letters, digits, ".", "_", "-") and the address it listens on; the older form, FRONTEND BACKEND WEBSOCKET NAME (HOST:PORT or -), means frontend=, backend= and websocket=`)
    .option('--ipv4-addr <HOST:PORT>', 'bind only this IPv4 UDP address (default: both families, every interface, any port)')
    .option('--ipv6-addr <[HOST]:PORT>', 'bind only this IPv6 UDP address')
    .option('--announce <HOST:PORT>', 'also list this address in the ticket, e.g. a public port forward (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--identity <FILE>', 'hub key file (default: $XDG_CONFIG_HOME/hive/hub.key); its token sits in FILE.token')
    .option('--rotate-token', 'issue a new access token: every older ticket stops working')
    .option('--ephemeral', 'use a fresh key and token, and write nothing to disk (peers are then enrolled in memory only)')
    .option('--trusted-only', 'admit only peers enrolled in the trust store (`hive peers allow`), even with a valid ticket')
    .option('--wormhole', 'also show a short Magic Wormhole join code, and a fresh one after each use')
    .option('--code-ttl <DURATION>', 'close an unused join code after this long, at least 10s (e.g. 90s, 10m)', '10m')
    .option('--code-length <N>', 'words in a join code, 2 to 8 (3 on a public mailbox is safer)', '2')
    .option('--max-peers <N>', 'peers in session at once; more are refused', String(DEFAULT_HUB_LIMITS.maxPeers))
    .option('--max-streams <N>', 'TCP connections one peer may have open at once; more wait at the peer', String(DEFAULT_HUB_LIMITS.maxStreamsPerPeer))
    .addHelpText('after', SHARE_EXAMPLES)
    .action(async (first: string, rest: string[], _opts: unknown, cmd: Command) => {
      const { globals, reporter, logger } = context(cmd)
      const opts = { ...cmd.opts<ShareOptions>(), alpn: globals.alpn, wormholeRelay: globals.wormholeRelay, dhtBootstrap: globals.dhtBootstrap, relay: globals.relay, json: globals.json === true, statsInterval: globals.statsInterval }
      const command = commandAfterDashes(argv, [first, ...rest])
      const args = [first, ...rest].slice(0, rest.length + 1 - command.length)
      await guard(reporter, exit, async () => {
        // Each command loads only its own code: start-up time is part of what a user waits for.
        const status = await (await import('./cli/share.js')).runShare(args, opts, reporter, logger, shutdown, command)
        if (status !== undefined) exit(status)
      })
    })

  program
    .command('join')
    .description('run a peer: connect to a hub and expose its services on local ports')
    .argument('<NAME>', 'this peer\'s name, shown to the hub')
    .argument('[COMMAND...]', 'after --: run COMMAND once the tunnel is up, with HIVE_<SERVICE>_ADDR and HIVE_<SERVICE>_URL set; leave when it exits, with its status')
    .option('--ticket <TICKET>', 'the hub\'s ticket, or - to read it from stdin (env: HIVE_TICKET)')
    .option('--join-code <CODE>', 'get the ticket over Magic Wormhole with the hub\'s join code, e.g. 5-hamburger-endorse')
    .option('--hub <HUB>', 'join a hub this machine joined before, by its name (`hive hubs` lists them)')
    .option('--identity <FILE>', 'this peer\'s key file, which hubs know it by (default: $XDG_CONFIG_HOME/hive/peer.key)')
    .option('--ephemeral', 'use a fresh key for this run, and remember no hub')
    .option('--join-timeout <DURATION>', 'with --join-code: how long to wait for the hub', '120s')
    .option('--expose <SERVICE=HOST:PORT>', 'where to expose a service locally (repeatable); by default each service the hub shares listens on 127.0.0.1 at its own port number, or on a free port when that one is taken', (v: string, all: string[]) => [...all, v], [])
    .option('--skip <SERVICE>', 'do not expose this service (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--frontend-addr <HOST:PORT>', 'same as --expose frontend=HOST:PORT; - skips it')
    .option('--backend-addr <HOST:PORT>', 'same as --expose backend=HOST:PORT; - skips it')
    .option('--ws-addr <HOST:PORT>', 'same as --expose websocket=HOST:PORT; - skips it')
    .option('--connect-timeout <SECONDS>', 'give up reaching the hub after this long', '10')
    .option('--no-reconnect', 'exit when the hub is lost (10) or restarts (9), instead of reconnecting by itself')
    .option('--reconnect-timeout <DURATION>', 'give up (exit 10) when the hub has been gone this long (default: never)')
    .addOption(
      new Option('--transport <KIND>', 'what carries the link: quic; udx (the DHT path, BBR: faster on lossy links, needs a hub on a DHT); auto: QUIC, or the DHT path if QUIC does not answer within 1 s or turns out to lose packets')
        .choices(['auto', 'quic', 'udx'])
        .default('auto'),
    )
    .addHelpText('after', JOIN_EXAMPLES)
    .action(async (name: string, operands: string[], _opts: unknown, cmd: Command) => {
      const { globals, reporter, logger } = context(cmd)
      await guard(reporter, exit, async () => {
        const opts = { ...cmd.opts<JoinOptions>(), alpn: globals.alpn, wormholeRelay: globals.wormholeRelay, dhtBootstrap: globals.dhtBootstrap, relay: globals.relay, json: globals.json === true, statsInterval: globals.statsInterval }
        const command = commandAfterDashes(argv, operands)
        if (command.length < operands.length) throw new HiveError('USAGE', `unexpected argument "${operands[0]}": a command to run goes after --, e.g. hive join ${name} -- npm test`)
        const { runJoin } = await import('./cli/join.js')
        const end = await runJoin(name, opts, reporter, logger, shutdown, command)
        if (end.code === 'COMMAND_EXITED') return exit(end.status)
        if (end.code === 'LEFT') return exit(0)
        const code = end.code
        reporter.error(`hive: ${code === 'HUB_STOPPED' ? `hub stopped (${end.reason})` : end.reason}`)
        reporter.event('hub_left', { code, reason: end.reason })
        exit(exitFor(code).status)
      })
    })

  program
    .command('demo')
    .description('see hive work on this machine: three small services, a hub and a peer, with URLs to try')
    .action(async (_opts: unknown, cmd: Command) => {
      const { reporter, logger } = context(cmd)
      await guard(reporter, exit, async () => (await import('./cli/demo.js')).runDemo(reporter, logger, shutdown))
    })

  program
    .command('id')
    .description("print this machine's peer id, which hubs know it by (for `hive peers allow` on a hub)")
    .option('--identity <FILE>', 'the peer key file (default: $XDG_CONFIG_HOME/hive/peer.key; created if missing)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { reporter } = context(cmd)
      await guard(reporter, exit, async () => (await import('./cli/hubs.js')).printPeerId(cmd.opts(), reporter))
    })

  const peers = program
    .command('peers')
    .description("a hub's trust store: the peers it knows by key; list, revoke, allow or remove them")
    .option('--identity <FILE>', 'the hub key file whose store to use (default: $XDG_CONFIG_HOME/hive/hub.key); the store is FILE.peers')
    .addHelpText('after', PEERS_HELP)
    .action(async (_opts: unknown, cmd: Command) => {
      const { reporter } = context(cmd)
      await guard(reporter, exit, async () => (await import('./cli/peers.js')).listPeers(cmd.opts(), reporter))
    })
  peers
    .command('revoke')
    .description("cut one peer off: its key is refused from now on, even with a valid ticket; a running hub ends its session at once")
    .argument('<NAME|ID>', 'the peer, by name or peer id')
    .option('--identity <FILE>', 'the hub key file (default: $XDG_CONFIG_HOME/hive/hub.key)')
    .action(async (who: string, _opts: unknown, cmd: Command) => {
      const { reporter } = context(cmd)
      await guard(reporter, exit, async () => (await import('./cli/peers.js')).revokePeer(who, cmd.optsWithGlobals(), reporter))
    })
  peers
    .command('remove')
    .description('forget one peer, trusted or revoked: it is then unknown, as if it had never joined (revoke is what cuts a peer off)')
    .argument('<NAME|ID>', 'the peer, by name or peer id')
    .option('--identity <FILE>', 'the hub key file (default: $XDG_CONFIG_HOME/hive/hub.key)')
    .action(async (who: string, _opts: unknown, cmd: Command) => {
      const { reporter } = context(cmd)
      await guard(reporter, exit, async () => (await import('./cli/peers.js')).removePeer(who, cmd.optsWithGlobals(), reporter))
    })
  peers
    .command('allow')
    .description('enrol a peer key ahead of its first join, or trust a revoked one again')
    .argument('<ID>', "the peer's id (`hive join` prints it)")
    .argument('[NAME]', 'what to call it (default: the name it joins with, or "unnamed")')
    .option('--identity <FILE>', 'the hub key file (default: $XDG_CONFIG_HOME/hive/hub.key)')
    .action(async (id: string, name: string | undefined, _opts: unknown, cmd: Command) => {
      const { reporter } = context(cmd)
      await guard(reporter, exit, async () => (await import('./cli/peers.js')).allowPeer(id, name, cmd.optsWithGlobals(), reporter))
    })

  const hubs = program
    .command('hubs')
    .description('the hubs this machine joined, which `hive join NAME --hub HUB` joins again')
    .addHelpText('after', HUBS_HELP)
    .action(async (_opts: unknown, cmd: Command) => {
      const { reporter } = context(cmd)
      await guard(reporter, exit, async () => (await import('./cli/hubs.js')).listHubs(reporter))
    })
  hubs
    .command('forget')
    .description('remove a remembered hub (its ticket) from this machine')
    .argument('<HUB>', 'the hub name')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { reporter } = context(cmd)
      await guard(reporter, exit, async () => (await import('./cli/hubs.js')).forgetHub(name, reporter))
    })

  program
    .command('relay')
    .description('run a DHT node others can bootstrap from, and a blind relay for peers whose NATs cannot be punched')
    .option('--bind <HOST:PORT>', 'UDP address of the DHT node and relay', '0.0.0.0:49737')
    .option('--identity <FILE>', 'relay key file, so its key stays the same across runs (default: $XDG_CONFIG_HOME/hive/relay.key)')
    .option('--ephemeral', 'use a fresh relay key and write nothing to disk')
    .option('--mailbox-port <PORT>', 'also run a Magic Wormhole mailbox server (in memory) for join codes, on this TCP port at the --bind host; 0 picks a free one')
    .addHelpText('after', RELAY_EXAMPLES)
    .action(async (_opts: unknown, cmd: Command) => {
      const { globals, reporter, logger } = context(cmd)
      await guard(reporter, exit, async () => (await import('./cli/relay.js')).runRelay({ ...cmd.opts<RelayOptions>(), dhtBootstrap: globals.dhtBootstrap }, reporter, logger, shutdown))
    })

  program.parseAsync(argv).catch((err: unknown) => {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return exit(0)
      return exit(exitFor('USAGE').status)
    }
    process.stderr.write(`hive: ${errorMessage(err)}\n`)
    exit(exitFor('INTERNAL').status)
  })
}

/** Runs a command and turns any failure into one line, a JSON error event, and an exit status. */
async function guard(reporter: Reporter, exit: (status: number) => void, work: () => Promise<unknown>): Promise<void> {
  try {
    await work()
  } catch (err) {
    const error = isHiveError(err) ? err : new HiveError('INTERNAL', errorMessage(err))
    const { status, hint } = exitFor(error.code)
    reporter.error(`hive: ${error.message}${hint ? ` (${hint})` : ''}`)
    reporter.event('error', { code: error.code, message: error.message })
    if (error.code === 'INTERNAL' && err instanceof Error && process.env.HIVE_DEBUG) process.stderr.write(`${err.stack}\n`)
    exit(status)
  }
}

main(process.argv)
