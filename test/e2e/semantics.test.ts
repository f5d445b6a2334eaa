import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readBytes, readToEnd, socketOutcome, tcpConnect } from '../helpers/clients.js'
import { killAll, startTunnel, type Tunnel } from '../helpers/hive.js'
import { startTcp, type Service } from '../helpers/services.js'

/**
 * The three services here are raw TCP servers whose behaviour each test controls:
 * frontend = half-close reply, backend = reset / slow-reader source, websocket = lockstep.
 */
let halfClose: Service & { sockets: Set<Socket> }
let backend: Service & { sockets: Set<Socket> }
let lockstep: Service & { sockets: Set<Socket> }
let tunnel: Tunnel
/** Each connection the reset-watching backend accepts: how it ended, as the service saw it. */
let backendConnections: Array<Promise<'reset' | 'end' | 'close'>> = []
/** Called with the running byte count each time the reset-watching backend reads. */
let onBackendData: ((total: number) => void) | null = null
let backendMode: 'reset-watch' | 'firehose' = 'reset-watch'
/** What the firehose service got its socket to accept, against backpressure. */
let firehoseSent = 0
/** Lockstep rounds in which the service got something other than the expected pong. */
const lockstepErrors: string[] = []

const ROUNDS = 100
const FIREHOSE = 256 * 1024 * 1024

beforeAll(async () => {
  halfClose = await startTcp((socket) => {
    const parts: Buffer[] = []
    socket.on('data', (c: Buffer) => parts.push(c))
    // The reply is sent only after the client's EOF: a tunnel that closes on the first FIN loses it.
    socket.on('end', () => {
      const got = Buffer.concat(parts).toString()
      setTimeout(() => socket.end(`got ${got.length} bytes: ${got}`), 50)
    })
  })
  backend = await startTcp((socket) => {
    if (backendMode === 'reset-watch') {
      let total = 0
      socket.on('data', (chunk: Buffer) => onBackendData?.((total += chunk.length)))
      backendConnections.push(
        new Promise((resolve) => {
          socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNRESET' ? 'reset' : 'close'))
          socket.once('end', () => resolve('end'))
        }),
      )
      return
    }
    // Firehose: write as fast as the socket allows, respecting backpressure.
    firehoseSent = 0
    const chunk = Buffer.alloc(64 * 1024, 0x5a)
    const pump = (): void => {
      while (firehoseSent < FIREHOSE) {
        firehoseSent += chunk.length
        if (!socket.write(chunk)) return void socket.once('drain', pump)
      }
      socket.end()
    }
    socket.on('error', () => undefined)
    pump()
  })
  lockstep = await startTcp((socket) => {
    let round = 0
    const send = (): void => void socket.write(`ping ${round}\n`)
    socket.on('data', (c: Buffer) => {
      // Never an expect in a server callback: it would throw outside any test.
      if (c.toString() !== `pong ${round}\n`) lockstepErrors.push(`round ${round}: ${JSON.stringify(c.toString())}`)
      round++
      if (round === ROUNDS) socket.end('done\n')
      else send()
    })
    send()
  })
  tunnel = await startTunnel([halfClose.address, backend.address, lockstep.address])
})

afterAll(async () => {
  await killAll()
  await Promise.all([halfClose?.close(), backend?.close(), lockstep?.close()])
})

describe('stream semantics through the tunnel', () => {
  it('half-close: the client shuts its write side and still receives the reply sent after EOF', async () => {
    const socket = await tcpConnect(tunnel.ports.frontend!)
    const reply = readToEnd(socket)
    socket.end('question?')
    expect((await reply).toString()).toBe('got 9 bytes: question?')
  })

  it('reset: a client reset mid-transfer reaches the service as a reset, and the tunnel keeps working', async () => {
    backendMode = 'reset-watch'
    backendConnections = []
    const sent = 256 * 1024
    const delivered = new Promise<void>((resolve) => (onBackendData = (total) => total >= sent && resolve()))
    const socket = await tcpConnect(tunnel.ports.backend!)
    socket.write(Buffer.alloc(sent, 1))
    // The service has read everything before the client resets: with data still unread in its
    // kernel buffer, Node 20's libuv would report the reset to the service itself as an 'end',
    // and this test would blame the tunnel for the service's own runtime.
    await delivered
    socket.resetAndDestroy()
    expect(backendConnections).toHaveLength(1)
    expect(await backendConnections[0]).toBe('reset')
    // The tunnel still carries new connections.
    const again = await tcpConnect(tunnel.ports.frontend!)
    const reply = readToEnd(again)
    again.end('still here')
    expect((await reply).toString()).toBe('got 10 bytes: still here')
  })

  it(`lockstep: ${ROUNDS} rounds where each side waits for the other`, async () => {
    const socket = await tcpConnect(tunnel.ports.websocket!)
    for (let round = 0; round < ROUNDS; round++) {
      expect((await readBytes(socket, `ping ${round}\n`.length)).toString()).toBe(`ping ${round}\n`)
      socket.write(`pong ${round}\n`)
    }
    expect((await readToEnd(socket)).toString()).toBe('done\n')
    expect(lockstepErrors).toEqual([])
  })

  it('slow reader: a client reading at about 1 MB/s keeps hub and peer memory bounded', async () => {
    backendMode = 'firehose'
    const baseline = { hub: tunnel.hub.rss(), peer: tunnel.peer.rss() }
    const socket = await tcpConnect(tunnel.ports.backend!)
    // Take about 512 KiB every half second: the client reads at about 1 MB/s.
    let received = 0
    let taken = 0
    socket.on('data', (c: Buffer) => {
      received += c.length
      taken += c.length
      if (taken >= 512 * 1024) socket.pause()
    })
    let peak = { hub: 0, peer: 0 }
    for (let tick = 0; tick < 12; tick++) {
      await new Promise((r) => setTimeout(r, 500))
      peak = { hub: Math.max(peak.hub, tunnel.hub.rss()), peer: Math.max(peak.peer, tunnel.peer.rss()) }
      taken = 0
      socket.resume()
    }
    socket.destroy()
    const ahead = firehoseSent - received
    console.log(`[figures] slow reader: received ${(received / 1e6).toFixed(1)} MB, the service ${(ahead / 1e6).toFixed(1)} MB ahead; RSS hub ${(baseline.hub / 1e6).toFixed(0)} -> ${(peak.hub / 1e6).toFixed(0)} MB, peer ${(baseline.peer / 1e6).toFixed(0)} -> ${(peak.peer / 1e6).toFixed(0)} MB`)
    // Backpressure, whatever the machine's speed: the reader got data, and the service could
    // run ahead of it only by what the windows and socket buffers hold, not by the 256 MiB offered.
    expect(received).toBeGreaterThan(0)
    expect(ahead).toBeLessThan(48 * 1024 * 1024)
    // Unbounded buffering would hold most of the 256 MiB offered; flow-control windows are ~10 MB.
    expect(peak.hub - baseline.hub).toBeLessThan(64 * 1024 * 1024)
    expect(peak.peer - baseline.peer).toBeLessThan(64 * 1024 * 1024)
  })
})

describe('target service down', () => {
  it('resets the client promptly and warns on the hub, naming the service', async () => {
    const { deadPort } = await import('../helpers/services.js')
    const dead = await deadPort()
    const t = await startTunnel([`127.0.0.1:${dead}`, '-', '-'])
    const socket = await tcpConnect(t.ports.frontend!)
    const { outcome, ms } = await socketOutcome(socket)
    expect(outcome).toBe('reset')
    expect(ms).toBeLessThan(5000)
    await expect.poll(() => t.hub.stderr).toMatch(/warning: frontend service is unreachable: 127\.0\.0\.1:\d+ refused/)
  })
})
