import type { Logger } from 'pino'
import { Hub } from '../hub/hub.js'
import { ephemeralIdentity } from '../identity/identity.js'
import { Peer } from '../peer/peer.js'
import { formatHostPort, type HostPort } from '../protocol/address.js'
import { decodeTicket } from '../protocol/ticket.js'
import { startDemoServices } from '../demo/services.js'
import type { Reporter } from './reporter.js'
import type { ShutdownSignals } from './shutdown.js'

const loopback = (port: number): HostPort => ({ host: '127.0.0.1', port, family: 4 })

/**
 * `hive demo`: three small services, a hub sharing them and a peer exposing them, all in this
 * process and on loopback, so a newcomer sees the tunnel work before setting anything up.
 */
export async function runDemo(reporter: Reporter, logger: Logger, shutdown: ShutdownSignals): Promise<void> {
  const services = await startDemoServices()
  let hub: Hub | undefined
  let peer: Peer | undefined
  const stop = async (): Promise<void> => {
    await peer?.leave('demo over')
    await hub?.stop('demo over')
    await services.close()
  }
  try {
    hub = await Hub.start({
      name: 'demo-hub',
      services: { web: loopback(services.web), api: loopback(services.api), echo: loopback(services.echo) },
      identity: await ephemeralIdentity(),
      binds: [loopback(0)],
      dht: { kind: 'none' },
      logger,
    })
    // Each service's own port is taken here (by the service itself): the peer's go on free ones.
    peer = await Peer.join({ name: 'demo-peer', ticket: decodeTicket(hub.ticket), expose: { web: loopback(0), api: loopback(0), echo: loopback(0) }, dht: { kind: 'none' }, logger })
  } catch (err) {
    await stop()
    throw err
  }
  shutdown.onStop(async () => {
    reporter.status('stopping the demo')
    await stop()
  })
  const at = peer.services
  const web = `http://${formatHostPort(at.web!)}/`
  const api = `http://${formatHostPort(at.api!)}/stream`
  const echo = formatHostPort(at.echo!)
  reporter.status('hive demo: three services, a hub that shares them, and a peer that joined it, all on this machine.')
  reporter.status(`the hub shares web, api and echo (127.0.0.1:${services.web}, :${services.api}, :${services.echo}), reachable on UDP ${hub.addresses.join(', ')}`)
  reporter.status('the peer exposes them here, through the QUIC tunnel:')
  const width = Math.max(web.length, api.length, echo.length) + 2
  reporter.status(`  web    ${web.padEnd(width)}open it in a browser`)
  reporter.status(`  api    ${api.padEnd(width)}curl -N it: tokens arrive as they are made`)
  reporter.status(`  echo   ${echo.padEnd(width)}nc ${echo.replace(':', ' ')}: type a line, it comes back`)
  reporter.status('')
  reporter.status('on two machines: `hive share NAME web=127.0.0.1:3000` on one, then `hive join NAME --ticket -` on the other.')
  reporter.status('press Ctrl+C to stop')
  reporter.event('demo_ready', { web, api, echo, ticket: hub.ticket })
}
