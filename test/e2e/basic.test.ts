import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpDownloadSha, httpGet, httpRequest, tcpConnect, wsEcho } from '../helpers/clients.js'
import { killAll, startTunnel, type Tunnel } from '../helpers/hive.js'
import { BIG, sha256, startBackend, startPageServer, startWsEcho, type Service } from '../helpers/services.js'

let page: Awaited<ReturnType<typeof startPageServer>>
let backend: Awaited<ReturnType<typeof startBackend>>
let ws: Service
let tunnel: Tunnel & { readyMs: number }

beforeAll(async () => {
  ;[page, backend, ws] = await Promise.all([startPageServer(), startBackend(), startWsEcho()])
  tunnel = await startTunnel([page.address, backend.address, ws.address])
})

afterAll(async () => {
  await killAll()
  await Promise.all([page?.close(), backend?.close(), ws?.close()])
})

describe('hive share + hive join, end to end', () => {
  it('joins: the hub sees the peer, and the peer reports the loopback ports it really listens on', async () => {
    await expect.poll(() => tunnel.hub.events.find((e) => e.event === 'peer_connected')).toMatchObject({ peer: 'test-peer' })
    const ports = [tunnel.ports.frontend!, tunnel.ports.backend!, tunnel.ports.websocket!]
    expect(new Set(ports).size).toBe(3)
    for (const [service, port] of Object.entries(tunnel.ports)) {
      // Each port was picked for --*-addr 127.0.0.1:0, is in the banner, and accepts a connection.
      expect(tunnel.peer.stderr).toMatch(new RegExp(`${service} +(http|ws)://127\\.0\\.0\\.1:${port}\n`))
      const socket = await tcpConnect(port!)
      socket.destroy()
    }
    console.log(`[figures] hive join to ready: ${tunnel.readyMs} ms`)
  })

  it('serves the frontend page through the peer', async () => {
    const res = await httpGet(tunnel.ports.frontend!, '/')
    expect(res.status).toBe(200)
    expect(res.body.toString()).toContain('hello from the frontend')
  })

  it('downloads 64 MiB from the backend with the sha256 intact', async () => {
    const direct = await httpDownloadSha(backend.port, '/download')
    const tunnelled = await httpDownloadSha(tunnel.ports.backend!, '/download')
    expect(direct.sha).toBe(backend.bodySha)
    expect(tunnelled.size).toBe(BIG)
    expect(tunnelled.sha).toBe(backend.bodySha)
    console.log(`[figures] 64 MiB download: direct ${direct.mbps.toFixed(0)} MB/s, through hive ${tunnelled.mbps.toFixed(0)} MB/s`)
  })

  it('uploads 64 MiB to the backend with the sha256 intact', async () => {
    const res = await httpRequest(tunnel.ports.backend!, 'POST', '/upload', backend.body)
    expect(res.status).toBe(200)
    expect(JSON.parse(res.body.toString())).toEqual({ sha256: sha256(backend.body), size: BIG })
  })

  it('echoes websocket messages, text and binary', async () => {
    const received = await wsEcho(`ws://127.0.0.1:${tunnel.ports.websocket}/`, ['one', Buffer.from('two'), 'x'.repeat(100_000)])
    expect(received).toEqual(['one', 'two', 'x'.repeat(100_000)])
  })

  it('shows the human banners on stderr and only data on stdout', () => {
    expect(tunnel.hub.stderr).toContain('hive hub `test-hub` is sharing')
    // The ticket is shown once, and the join command keeps it out of the process list.
    expect(tunnel.hub.stderr.split(tunnel.ticket)).toHaveLength(2)
    expect(tunnel.hub.stderr).toContain('hive join <peer-name> --ticket -')
    expect(tunnel.hub.stderr).toContain('HIVE_TICKET=<ticket> hive join <peer-name>')
    expect(tunnel.peer.stderr).toContain(`http://127.0.0.1:${tunnel.ports.frontend}`)
    expect(tunnel.peer.stderr).toContain(`ws://127.0.0.1:${tunnel.ports.websocket}`)
    for (const line of tunnel.hub.stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow()
    const connected = tunnel.hub.events.find((e) => e.event === 'peer_connected')
    expect(connected).toMatchObject({ peer: 'test-peer', peer_id: expect.stringMatching(/^12D3KooW/) })
  })
})
