import { getEventListeners } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { Hub } from '../../src/hub/hub.js'
import { ephemeralIdentity } from '../../src/identity/identity.js'
import { Peer } from '../../src/peer/peer.js'
import { decodeTicket } from '../../src/protocol/ticket.js'
import { httpGet } from '../helpers/clients.js'
import { startPageServer } from '../helpers/services.js'

/** A long-lived session must not gather a little state per connection it ever carried. */
const stops: Array<() => unknown> = []
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop()
})

describe('a peer session over many connections (in process, real QUIC)', () => {
  it('keeps no listener per finished connection on the session', async () => {
    const page = await startPageServer()
    stops.push(() => page.close())
    const hub = await Hub.start({
      name: 'leak-hub',
      services: { frontend: { host: '127.0.0.1', port: page.port, family: 4 } },
      identity: await ephemeralIdentity(),
      binds: [{ host: '127.0.0.1', port: 0, family: 4 }],
    })
    stops.push(() => hub.stop())
    const peer = await Peer.join({ name: 'many', ticket: decodeTicket(hub.ticket), expose: { frontend: { host: '127.0.0.1', port: 0, family: 4 } } })
    stops.push(() => peer.leave())
    const port = peer.services.frontend!.port
    const gone = (): AbortSignal => (peer as unknown as { session: { gone: AbortController } }).session.gone.signal
    const before = getEventListeners(gone(), 'abort').length
    for (let i = 0; i < 200; i++) expect((await httpGet(port, '/')).status).toBe(200)
    // Each connection waits on the session's signal only until the hub answers it.
    expect(getEventListeners(gone(), 'abort').length).toBeLessThanOrEqual(before + 2)
  }, 60_000)
})
