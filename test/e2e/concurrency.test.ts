import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpGet, readBytes, tcpConnect } from '../helpers/clients.js'
import { killAll, startHub, startPeer, type HiveProcess, type Tunnel } from '../helpers/hive.js'
import { startPageServer, startTcp, type Service } from '../helpers/services.js'

let page: Awaited<ReturnType<typeof startPageServer>>
let echo: Service & { sockets: Set<Socket> }
let hub: HiveProcess
let ticket: string
let first: { peer: HiveProcess; ports: Tunnel['ports'] }

beforeAll(async () => {
  page = await startPageServer()
  // Echoes line by line, and keeps each connection open until the client ends it.
  echo = await startTcp((socket) => {
    socket.on('data', (c: Buffer) => socket.write(c))
    socket.on('end', () => socket.end())
    socket.on('error', () => undefined)
  })
  ;({ hub, ticket } = await startHub([page.address, echo.address, '-']))
  first = await startPeer(ticket, 'peer-one')
})

afterAll(async () => {
  await killAll()
  await Promise.all([page?.close(), echo?.close()])
})

describe('concurrency', () => {
  it('serves two peers at once', async () => {
    const second = await startPeer(ticket, 'peer-two')
    const [a, b] = await Promise.all([httpGet(first.ports.frontend!, '/n/1'), httpGet(second.ports.frontend!, '/n/2')])
    expect(JSON.parse(a.body.toString())).toEqual({ n: 1 })
    expect(JSON.parse(b.body.toString())).toEqual({ n: 2 })
    const names = hub.events.filter((e) => e.event === 'peer_connected').map((e) => e.peer)
    expect(names).toEqual(expect.arrayContaining(['peer-one', 'peer-two']))
  })

  it('holds 1000 concurrent long-lived connections through one peer, each exchanging data', async () => {
    const sockets = await Promise.all(Array.from({ length: 1000 }, () => tcpConnect(first.ports.backend!)))
    for (const s of sockets) s.on('error', () => undefined)
    // Every connection is open at the same time: each sends, gets its echo, and stays open.
    for (let round = 0; round < 3; round++) {
      const echoes = await Promise.all(
        sockets.map(async (s, i) => {
          const line = `conn ${i} round ${round}\n`
          s.write(line)
          return (await readBytes(s, Buffer.byteLength(line))).toString() === line
        }),
      )
      expect(echoes.filter(Boolean)).toHaveLength(1000)
    }
    await expect.poll(() => echo.sockets.size, { timeout: 5000 }).toBe(1000)
    for (const s of sockets) s.end()
    await expect.poll(() => echo.sockets.size, { timeout: 15_000 }).toBe(0)
  })

  it('answers 200 concurrent HTTP requests, all correct', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => httpGet(first.ports.frontend!, `/n/${i}`)))
    expect(results.map((r) => r.status)).toEqual(Array(200).fill(200))
    expect(results.map((r) => JSON.parse(r.body.toString()).n)).toEqual(Array.from({ length: 200 }, (_, i) => i))
  })
})
