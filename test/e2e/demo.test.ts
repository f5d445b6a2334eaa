import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { httpGet, readToEnd, tcpConnect } from '../helpers/clients.js'
import { killAll, runHive } from '../helpers/hive.js'

afterEach(async () => {
  await killAll()
})

const portOf = (url: string): number => Number(new URL(url.includes('://') ? url : `tcp://${url}`).port)

describe('hive demo', () => {
  it('shares three services through a real hub and peer, and cleans up on Ctrl+C', async () => {
    const demo = runHive(['demo', '--json'])
    const ready = await demo.waitEvent('demo_ready')
    expect(demo.stderr).toMatch(/press Ctrl\+C to stop/)
    const web = await httpGet(portOf(ready.web as string), '/')
    expect(web.body.toString()).toContain('Hello through hive')

    // The API streams: its first tokens arrive long before the last.
    const started = performance.now()
    const stream = await tcpConnect(portOf(ready.api as string))
    // HTTP/1.0: the body comes without chunked framing.
    stream.write('GET /stream HTTP/1.0\r\n\r\n')
    const firstAt = await new Promise<number>((resolve) => stream.once('data', () => resolve(performance.now())))
    const rest = (await readToEnd(stream)).toString()
    const endAt = performance.now()
    expect(rest).toContain('one QUIC stream per TCP connection')
    expect(endAt - firstAt).toBeGreaterThan((endAt - started) / 3)

    const echo = await tcpConnect(portOf(ready.echo as string))
    echo.end('a line for the echo\n')
    expect((await readToEnd(echo)).toString()).toBe('a line for the echo\n')

    demo.signal('SIGINT')
    expect(await demo.exited).toBe(0)
    // Nothing is left listening.
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(portOf(ready.web as string), '127.0.0.1')
      socket.once('connect', () => (socket.destroy(), resolve(false)))
      socket.once('error', () => resolve(true))
    })
    expect(refused).toBe(true)
  })
})
