import { readdirSync } from 'node:fs'
import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpGet, tcpConnect } from '../helpers/clients.js'
import { killAll, startTunnel, type Tunnel } from '../helpers/hive.js'
import { startPageServer, startTcp, type Service } from '../helpers/services.js'

/**
 * Connections whose service or client stops reading fill their stream's window and stay
 * there. They must never take the whole connection window, and must let go when closed.
 */
let page: Awaited<ReturnType<typeof startPageServer>>
let sink: Service & { sockets: Set<Socket> }
let source: Service & { sockets: Set<Socket> }
let tunnel: Tunnel
/** Bytes the download service got its sockets to accept: it stops when the tunnel pushes back. */
let sourced = 0

beforeAll(async () => {
  page = await startPageServer()
  // Accepts uploads and never reads them. A socket that is not read learns of a reset only
  // when it writes, so it writes nothing every 100 ms, as a service that answers would.
  sink = await startTcp((socket) => {
    socket.pause()
    socket.on('error', () => undefined)
    const probe = setInterval(() => socket.write(Buffer.alloc(0)), 100)
    socket.once('close', () => clearInterval(probe))
  })
  // Sends a download as fast as it may, to a client that never reads it.
  source = await startTcp((socket) => {
    socket.on('error', () => undefined)
    const chunk = Buffer.alloc(64 * 1024, 0x42)
    const pump = (): void => {
      while (!socket.destroyed) {
        sourced += chunk.length
        if (!socket.write(chunk)) return void socket.once('drain', pump)
      }
    }
    pump()
  })
  tunnel = await startTunnel([page.address, sink.address, source.address])
})

afterAll(async () => {
  await killAll()
  await Promise.all([page?.close(), sink?.close(), source?.close()])
})

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

async function requests(n: number): Promise<{ failures: number; p50: number; p99: number }> {
  const times: number[] = []
  let failures = 0
  for (let i = 0; i < n; i++) {
    try {
      const res = await httpGet(tunnel.ports.frontend!, `/n/${i}`)
      if (res.status !== 200 || JSON.parse(res.body.toString()).n !== i) failures++
      times.push(res.ms)
    } catch {
      failures++
    }
  }
  return { failures, p50: quantile(times, 0.5), p99: quantile(times, 0.99) }
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

async function settled(read: () => number): Promise<void> {
  // Until the figure stops growing for half a second: the windows are full.
  for (let last = -1; ; ) {
    await new Promise((r) => setTimeout(r, 500))
    const now = read()
    if (now === last) return
    last = now
  }
}

describe('stuck connections', () => {
  it('16 stuck connections (8 uploads nobody reads, 8 downloads nobody reads) leave other requests working, and are released when closed', async () => {
    const baseline = await requests(100)
    const fds = { hub: fdCount(tunnel.hub.child.pid!), peer: fdCount(tunnel.peer.child.pid!) }

    const stuck: Socket[] = []
    let uploaded = 0
    for (let i = 0; i < 8; i++) {
      const up = await tcpConnect(tunnel.ports.backend!)
      up.on('error', () => undefined)
      const chunk = Buffer.alloc(64 * 1024, 0x55)
      const push = (): void => {
        while (!up.destroyed && up.write(chunk)) uploaded += chunk.length
        if (!up.destroyed) up.once('drain', push)
      }
      push()
      const down = await tcpConnect(tunnel.ports.websocket!)
      down.on('error', () => undefined)
      down.pause()
      stuck.push(up, down)
    }
    await settled(() => uploaded + sourced)
    console.log(`[figures] stuck: ${(uploaded / 1e6).toFixed(1)} MB pushed into 8 uploads, ${(sourced / 1e6).toFixed(1)} MB into 8 downloads`)

    const during = await requests(100)
    console.log(`[figures] requests beside 16 stuck connections: p50 ${during.p50.toFixed(2)} ms, p99 ${during.p99.toFixed(2)} ms (alone: p50 ${baseline.p50.toFixed(2)}, p99 ${baseline.p99.toFixed(2)} ms)`)
    expect(during.failures).toBe(0)
    // A request held behind the stuck ones would wait for windows that never open: seconds,
    // then failures. p99 of 100 is the slowest request, which one pause of a loaded CI machine
    // decides (181 ms there against 62 alone), so its slack is wide; p50 watches the typical one.
    expect(during.p50).toBeLessThan(2 * baseline.p50 + 5)
    expect(during.p99).toBeLessThan(2 * baseline.p99 + 250)

    const closing = Date.now()
    // An upload client that gives up aborts (a close would still owe the service its data,
    // as TCP does); a download client that goes away closes with data unread, which resets.
    for (const [i, s] of stuck.entries()) {
      if (i % 2 === 0) s.resetAndDestroy()
      else s.destroy()
    }
    // Every service-side socket goes, and hub and peer are back to the descriptors they had.
    await expect.poll(() => `sink ${sink.sockets.size} source ${source.sockets.size}`, { timeout: 10_000, interval: 50 }).toBe("sink 0 source 0")
    await expect.poll(() => fdCount(tunnel.hub.child.pid!), { timeout: 10_000, interval: 50 }).toBeLessThanOrEqual(fds.hub)
    await expect.poll(() => fdCount(tunnel.peer.child.pid!), { timeout: 10_000, interval: 50 }).toBeLessThanOrEqual(fds.peer)
    const releasedMs = Date.now() - closing
    console.log(`[figures] 16 stuck connections released in ${releasedMs} ms`)
    // The goal is 2 s; the margin is for a loaded machine.
    expect(releasedMs).toBeLessThan(5000)
    const after = await requests(20)
    expect(after.failures).toBe(0)
  }, 120_000)
})
