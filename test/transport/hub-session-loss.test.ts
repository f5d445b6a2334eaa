import type { Server } from 'node:net'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import type { ControlChannel } from '../../src/link/control-channel.js'
import type { Link } from '../../src/link/types.js'
import { HubSession } from '../../src/peer/hub-session.js'
import { socketPair } from '../helpers/clients.js'
import { quicPair, type QuicPair } from '../helpers/quic-pair.js'

/**
 * A connection waiting for the hub's answer when the link goes must go through again on the
 * next link, not be reset. quinn fails the stream a moment before the connection reports that
 * it closed, and the session learns of the loss from the latter: here that moment is widened
 * to 300 ms, around a real QUIC link whose other side closes.
 */
let pair: QuicPair | undefined
let server: Server | undefined
afterEach(() => {
  pair?.close()
  server?.close()
  pair = server = undefined
})

/** The link as the session sees it, with its close reported `lagMs` late. */
function lagging(link: Link, lagMs: number): Link {
  const closed = link.closed.then(() => new Promise<void>((resolve) => setTimeout(resolve, lagMs)))
  return new Proxy(link, {
    get: (target, key) => (key === 'closed' ? closed : Reflect.get(target, key, target)),
  })
}

/** The hub's side of the control stream as far as forwarding needs it: a welcome long past, then silence. */
const control = { streamLimit: 16, sessionId: undefined, services: undefined, version: 2, next: () => new Promise(() => undefined), send: async () => undefined, bye: async () => undefined } as unknown as ControlChannel

describe('HubSession when the link goes before the hub answers (real quinn)', () => {
  it('hands the connection back, untouched and open, to go through on the next link', async () => {
    pair = await quicPair()
    const session = new HubSession(lagging(pair.client, 300), control, pino({ level: 'silent' }))
    const local = await socketPair()
    server = local.server
    const socket = local.accepted
    const forwarded = session.forward('frontend', socket)
    // The header is out and the answer awaited; then the hub's side goes away.
    await pair.server.acceptStream()
    pair.server.close()
    expect(await forwarded).toEqual({ chunks: [], ended: false, sentEarly: false })
    expect(socket.destroyed).toBe(false)
    expect(session.retired).toBe(true)
    socket.destroy()
    local.client.destroy()
  })
})
