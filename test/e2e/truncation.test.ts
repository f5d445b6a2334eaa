import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import type { Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tcpConnect } from '../helpers/clients.js'
import { killAll, startTunnel, type Tunnel } from '../helpers/hive.js'
import { startTcp, type Service } from '../helpers/services.js'

/**
 * A reset must arrive as a reset, in both directions and at any point of a transfer: a
 * response cut short by a reset must never look complete. The judges are curl and Python,
 * which read a reset as an error; Node before libuv 1.52 can read it as a clean end.
 */
const SIZES = [0, 64 * 1024, 10 * 1024 * 1024]
let resetter: Service & { sockets: Set<Socket> }
let oracle: ChildProcess
let oraclePort: number
const oracleSeen: Array<{ outcome: string; bytes: number }> = []
let tunnel: Tunnel
/** How many bytes the next response carries before the service resets. */
let nextSize = 0

beforeAll(async () => {
  // An HTTP/1.0 service whose response has no length (it ends with the connection) and is cut
  // by a reset after `nextSize` bytes: only the reset tells the client that it is incomplete.
  resetter = await startTcp((socket) => {
    socket.on('error', () => undefined)
    socket.once('data', () => {
      const size = nextSize
      socket.write('HTTP/1.0 200 OK\r\ncontent-type: application/octet-stream\r\n\r\n')
      socket.write(Buffer.alloc(size, 0x61), () => socket.resetAndDestroy())
    })
  })
  oracle = spawn('python3', [join(import.meta.dirname, '..', 'helpers', 'reset-oracle.py')], { stdio: ['ignore', 'pipe', 'inherit'] })
  oraclePort = await new Promise<number>((resolve, reject) => {
    oracle.once('error', (err) => reject(new Error(`cannot run python3 for the reset oracle: ${err.message}`)))
    let pending = ''
    oracle.stdout!.on('data', (c: Buffer) => {
      pending += c.toString()
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        const parsed = JSON.parse(line)
        if (parsed.port) resolve(parsed.port)
        else oracleSeen.push(parsed)
      }
    })
  })
  tunnel = await startTunnel([resetter.address, `127.0.0.1:${oraclePort}`, '-'])
})

afterAll(async () => {
  oracle?.kill()
  await killAll()
  await resetter?.close()
})

function curl(port: number): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('curl', ['-sS', '--http1.0', '-o', '/dev/null', `http://127.0.0.1:${port}/`])
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => (stderr += c))
    child.once('error', (err) => resolve({ status: -1, stderr: `cannot run curl: ${err.message}` }))
    child.once('exit', (status) => resolve({ status: status ?? -1, stderr }))
  })
}

describe('a reset is never delivered as a clean end', () => {
  it.each(SIZES)('a response of %i bytes cut by a reset: curl sees the reset, directly and through hive (10 times)', async (size) => {
    nextSize = size
    // The oracle's own view, without hive: curl reports "Connection reset by peer" (exit 56).
    expect((await curl(resetter.port)).status).toBe(56)
    for (let i = 0; i < 10; i++) {
      const { status, stderr } = await curl(tunnel.ports.frontend!)
      expect(status, `through hive, try ${i}: ${stderr}`).toBe(56)
    }
  })

  it.each(SIZES)('an upload of %i bytes cut by a client reset reaches the service as a reset, or not at all (10 times)', async (size) => {
    const before = oracleSeen.length
    for (let i = 0; i < 10; i++) {
      const socket = await tcpConnect(tunnel.ports.backend!)
      socket.on('error', () => undefined)
      await new Promise<void>((resolve) => socket.write(Buffer.alloc(size, 0x62), () => resolve()))
      socket.resetAndDestroy()
      // A connection reset before its header reached the hub never reaches the service at all.
      await new Promise((r) => setTimeout(r, 200))
    }
    await new Promise((r) => setTimeout(r, 1000))
    const seen = oracleSeen.slice(before)
    if (size > 0) expect(seen.length).toBeGreaterThan(0)
    expect(seen.filter((s) => s.outcome !== 'reset')).toEqual([])
  })
})
