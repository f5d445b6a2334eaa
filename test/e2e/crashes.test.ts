import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { httpGet, socketOutcome, tcpConnect } from '../helpers/clients.js'
import { killAll, startHub, startPeer } from '../helpers/hive.js'
import { startPageServer, startTcp, type Service } from '../helpers/services.js'

/** Events from the network or a service that once ended the hub, and with it every peer's session. */
let page: Awaited<ReturnType<typeof startPageServer>>
let resetter: Service

beforeAll(async () => {
  page = await startPageServer()
  // Accepts, then resets at once: the hub meets the reset before or while it answers the peer.
  resetter = await startTcp((socket) => socket.resetAndDestroy())
})
afterEach(async () => {
  await killAll()
})
afterAll(async () => {
  await Promise.all([page?.close(), resetter?.close()])
})

describe('a hostile service', () => {
  it('a service that resets every connection at once: clients get resets, the hub keeps serving', async () => {
    const { hub, ticket } = await startHub([page.address, resetter.address, '-'])
    const { ports } = await startPeer(ticket)
    for (let round = 0; round < 10; round++) {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const socket = await tcpConnect(ports.backend!)
          socket.write('hello?')
          return (await socketOutcome(socket)).outcome
        }),
      )
      // Whatever the timing, no client may see a clean end from a service that reset.
      expect(outcomes.filter((o) => o === 'end')).toEqual([])
    }
    expect(hub.child.exitCode).toBeNull()
    expect((await httpGet(ports.frontend!, '/')).status).toBe(200)
  })
})
