import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { endWasReset } from '../../src/link/socket-end.js'

/** How a socket's end is told: on real loopback sockets, many times, since the bug is a race. */
let server: Server | undefined
afterEach(() => {
  server?.close()
  server = undefined
})

async function listen(onSocket: (s: Socket) => void): Promise<number> {
  server = createServer({ allowHalfOpen: true }, onSocket)
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  return (server.address() as { port: number }).port
}

/** Connects, reads to the end, and says how the end looked: 'error', or 'end' with the verdict. */
async function ending(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true })
    // A reader under backpressure: the data, and then the reset, wait in the kernel.
    socket.pause()
    setTimeout(() => socket.resume(), 20)
    socket.on('data', () => undefined)
    socket.once('error', () => resolve('error'))
    socket.once('end', () => {
      resolve(endWasReset(socket) ? 'end, was a reset' : 'end, was a FIN')
      socket.destroy()
    })
  })
}

describe('endWasReset', () => {
  it('a reset after 10 MiB, which Node may report as an end, is never taken for a FIN (50 times)', async () => {
    const port = await listen((s) => s.write(Buffer.alloc(10 * 1024 * 1024), () => s.resetAndDestroy()))
    const seen: string[] = []
    for (let i = 0; i < 50; i++) seen.push(await ending(port))
    expect(seen.filter((s) => s === 'end, was a FIN')).toEqual([])
    // On Node 20 and 22 some of these resets arrive as an end: the case this function exists for.
    console.log(`[figures] resets seen as an error: ${seen.filter((s) => s === 'error').length}, as an end: ${seen.filter((s) => s === 'end, was a reset').length}`)
  })

  it('a FIN is a FIN (50 times)', async () => {
    const port = await listen((s) => s.end(Buffer.alloc(64 * 1024)))
    const seen = new Set<string>()
    for (let i = 0; i < 50; i++) seen.add(await ending(port))
    expect([...seen]).toEqual(['end, was a FIN'])
  })

  it('a FIN followed by a reset is never taken for a reset at the end (50 times)', async () => {
    const port = await listen((s) => {
      s.on('error', () => undefined)
      s.end(Buffer.alloc(64 * 1024), () => setTimeout(() => s.resetAndDestroy(), 5))
    })
    const seen = new Set<string>()
    for (let i = 0; i < 50; i++) seen.add(await ending(port))
    // The data direction ended with a FIN; Node may also report the later reset as an error.
    expect([...seen].filter((s) => s === 'end, was a reset')).toEqual([])
  })
})
