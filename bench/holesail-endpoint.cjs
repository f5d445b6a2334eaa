'use strict'
// The `holesail` path: the real holesail forwarder (holesail-server, holesail-client), kept off
// the public DHT. Both packages call `new HyperDHT()`, which would bootstrap from public nodes;
// before they load, their `hyperdht` is replaced by a subclass that bootstraps only from
// HOLESAIL_BOOTSTRAP (a loopback node, see `bootstrap`) and binds its sockets to 127.0.0.1: the
// only address it then learns or offers to peers is 127.0.0.1 (hyperdht lists the interfaces'
// addresses only for a socket bound to all of them), and Linux will not send from 127.0.0.1 to
// another host.
//
//   bootstrap                    a small DHT on 127.0.0.1; prints its first node's port
//   server PORT...               one HolesailServer per 127.0.0.1:PORT; prints the keys, in order
//   client KEY:LOCAL_PORT...     one HolesailClient per key on 127.0.0.1:LOCAL_PORT; prints `listening`
//
// One process per side, as hive's hub and peer serve both targets from one process each.
const { createSocket } = require('node:dgram')
const Module = require('node:module')

const LOOPBACK = '127.0.0.1'

/** A UDP port free on loopback now: hyperdht's default (49737) may belong to someone else. */
function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4')
    s.once('error', reject)
    s.bind(0, LOOPBACK, () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** Makes `pkg`'s own `require('hyperdht')` (npm may nest a copy) return a loopback-only DHT. */
function localHyperDHT(pkg, bootstrap) {
  const fromPkg = Module.createRequire(require.resolve(pkg))
  const file = fromPkg.resolve('hyperdht')
  const HyperDHT = fromPkg('hyperdht')
  if (HyperDHT.name === 'LocalHyperDHT') return
  class LocalHyperDHT extends HyperDHT {
    constructor(opts = {}) {
      // Each node takes its own port, never the default one (`port: 0` means 49737 to hyperdht).
      super({ ...opts, bootstrap: [bootstrap], host: LOOPBACK, port: nextPort() })
      if (this.bootstrapNodes.some((n) => n.host !== LOOPBACK)) throw new Error('non-loopback bootstrap')
    }
  }
  require.cache[file].exports = LocalHyperDHT
  // hyper-cmd-lib-net loads bare-dgram (for its UDP mode) at the top, and bare-dgram needs Bare's
  // `require.addon`, which Node lacks: the forwarder would not even load on Node. TCP never
  // touches it, so it is stood in for by a module that refuses to make UDP sockets.
  const fromNet = Module.createRequire(fromPkg.resolve('@holesail/hyper-cmd-lib-net'))
  const dgram = new Module(fromNet.resolve('bare-dgram'))
  dgram.filename = dgram.id
  dgram.loaded = true
  dgram.exports = { createSocket: () => { throw new Error('UDP is not used by the bench') } }
  require.cache[dgram.id] = dgram
}

// One free port per forwarder, taken before any DHT is made (its constructor cannot wait).
let ports = []
function nextPort() {
  if (ports.length === 0) throw new Error('a DHT node more than expected')
  return ports.shift()
}

// HOLESAIL_DEBUG=1: holesail's own log, timed, on stderr.
const logger = process.env.HOLESAIL_DEBUG ? { log: (e) => process.stderr.write(`${performance.now().toFixed(0)} ${e.msg}\n`) } : undefined

async function main() {
  const [mode, ...args] = process.argv.slice(2)
  if (mode === 'bootstrap') {
    // Three nodes, as hyperdht's own tests use a small testnet: with the bootstrap node alone,
    // connections opened at once (iperf3 -P 8) often stalled until they timed out.
    const HyperDHT = require('hyperdht')
    const [port, ...others] = await Promise.all([0, 1, 2].map(freeUdpPort))
    await HyperDHT.bootstrapper(port, LOOPBACK, { host: LOOPBACK }).ready()
    const bootstrap = [{ host: LOOPBACK, port }]
    for (const p of others) await new HyperDHT({ bootstrap, host: LOOPBACK, port: p, ephemeral: false, firewalled: false }).fullyBootstrapped()
    process.stdout.write(`${port}\n`)
    return
  }
  const [host, port] = (process.env.HOLESAIL_BOOTSTRAP ?? '').split(':')
  if (host !== LOOPBACK || !Number(port)) throw new Error('HOLESAIL_BOOTSTRAP must be 127.0.0.1:PORT')
  const bootstrap = { host, port: Number(port) }
  ports = await Promise.all(args.map(freeUdpPort))
  if (mode === 'server') {
    localHyperDHT('holesail-server', bootstrap)
    const HolesailServer = require('holesail-server')
    const keys = await Promise.all(
      args.map((p) => new Promise((resolve) => {
        const server = new HolesailServer({ logger })
        server.start({ port: Number(p), host: LOOPBACK }, () => resolve(server.key))
      })),
    )
    process.stdout.write(`${keys.join(' ')}\n`)
  } else if (mode === 'client') {
    localHyperDHT('holesail-client', bootstrap)
    const HolesailClient = require('holesail-client')
    await Promise.all(
      args.map((arg) => new Promise((resolve) => {
        const [key, local] = arg.split(':')
        new HolesailClient({ key, logger }).connect({ port: Number(local), host: LOOPBACK }, resolve)
      })),
    )
    process.stdout.write('listening\n')
  } else {
    throw new Error('usage: holesail-endpoint.cjs bootstrap | server PORT... | client KEY:LOCAL_PORT...')
  }
}

main().catch((err) => {
  process.stderr.write(`holesail-endpoint: ${err.stack ?? err}\n`)
  process.exit(1)
})
