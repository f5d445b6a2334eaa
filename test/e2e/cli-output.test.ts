import { readFileSync, readdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpGet } from '../helpers/clients.js'
import { killAll, runHive, startHub, startPeer } from '../helpers/hive.js'
import { startPageServer } from '../helpers/services.js'
import { decodeTicket } from '../../src/protocol/ticket.js'

let page: Awaited<ReturnType<typeof startPageServer>>
beforeAll(async () => {
  page = await startPageServer()
})
afterAll(async () => {
  await killAll()
  await page?.close()
})

describe('CLI output', () => {
  it('logs at -vvvv never contain the token or the ticket', async () => {
    const { hub, ticket } = await startHub([page.address, '-', '-'], ['-vvvv'])
    const { peer, ports } = await startPeer(ticket, 'chatty', ['-vvvv'])
    expect((await httpGet(ports.frontend!, '/')).status).toBe(200)
    peer.signal('SIGINT')
    await peer.exited
    const token = Buffer.from(decodeTicket(ticket).token).toString('base64url')
    const logLines = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('{"level"'))
    const logs = [...logLines(hub.stderr), ...logLines(peer.stderr)]
    expect(logs.some((l) => l.includes('"level":20'))).toBe(true)
    for (const line of logs) {
      expect(line).not.toContain(token)
      expect(line).not.toContain(ticket)
    }
  })

  it('-q leaves only data: the ticket on stdout, nothing on stderr', async () => {
    const hub = runHive(['share', page.address, '-', '-', 'quiet-hub', '--ipv4-addr', '127.0.0.1:0', '--ephemeral', '-q'])
    await expect.poll(() => hub.stdout).toMatch(/^hive1[A-Za-z0-9_-]+\n$/)
    expect(hub.stderr).toBe('')
    hub.signal('SIGTERM')
    expect(await hub.exited).toBe(0)
  })

  it('runs quinn on one thread fewer than the cores, unless TOKIO_WORKER_THREADS says otherwise', async () => {
    const quinnThreads = (pid: number): number =>
      readdirSync(`/proc/${pid}/task`).filter((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').startsWith('tokio-rt-worker')).length
    const args = ['share', page.address, '-', '-', 'threads-hub', '--ipv4-addr', '127.0.0.1:0', '--ephemeral', '--json']
    const byDefault = runHive(args, { env: { TOKIO_WORKER_THREADS: undefined } })
    const chosen = runHive(args, { env: { TOKIO_WORKER_THREADS: '3' } })
    await Promise.all([byDefault.waitEvent('hub_ready'), chosen.waitEvent('hub_ready')])
    expect(quinnThreads(byDefault.child.pid!)).toBe(Math.max(1, availableParallelism() - 1))
    expect(quinnThreads(chosen.child.pid!)).toBe(3)
  })

  it('says in one line when the native QUIC binary is missing, with its exit code', async () => {
    // napi-rs loads only this path when it is set, which is how a platform without a binary looks.
    const hub = runHive(['share', page.address, '-', '-', 'h', '--ipv4-addr', '127.0.0.1:0', '--ephemeral'], { env: { NAPI_RS_NATIVE_LIBRARY_PATH: '/nonexistent/libp2p-quic.node' } })
    expect(await hub.exited).toBe(11)
    expect(hub.stderr.trim().split('\n')).toHaveLength(1)
    expect(hub.stderr).toMatch(/^hive: the QUIC library has no native build for linux-x64 here/)
  })
})
