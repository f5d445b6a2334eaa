import { createSocket } from 'node:dgram'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { connect, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A real Magic Wormhole mailbox server (Debian's), on a random loopback port with its own database. */
export interface MailboxServer {
  url: string
  port: number
  child: ChildProcess
  stop(): Promise<void>
}

export function freeTcpPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** A UDP port free on loopback right now, for a hub that must come back on the same port. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address()
      socket.close(() => resolve(port))
    })
  })
}

/** A run of `count` free UDP ports on loopback: `hive relay` uses its port and the 3 after it. */
export async function freeUdpRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000)
    const sockets = Array.from({ length: count }, () => createSocket('udp4'))
    const bound = await Promise.all(
      sockets.map((s, i) => new Promise<boolean>((resolve) => s.once('error', () => resolve(false)).bind(base + i, '127.0.0.1', () => resolve(true)))),
    )
    await Promise.all(sockets.map((s) => new Promise((r) => s.close(() => r(undefined))).catch(() => undefined)))
    if (bound.every(Boolean)) return base
  }
  throw new Error('no run of free UDP ports')
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

export async function startMailbox(extraArgs: string[] = []): Promise<MailboxServer> {
  const port = await freeTcpPort()
  const dir = mkdtempSync(join(tmpdir(), 'hive-mailbox-'))
  const child = spawn('twist3', ['wormhole-mailbox', `--port=tcp:${port}:interface=127.0.0.1`, `--channel-db=${join(dir, 'relay.sqlite')}`, ...extraArgs], {
    cwd: dir,
    stdio: 'ignore',
  })
  let failed: Error | undefined
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve())
    child.once('error', (err) => {
      failed = err
      resolve()
    })
  })
  const deadline = Date.now() + 15_000
  while (!(await portAnswers(port))) {
    if (failed) throw new Error(`cannot run twist3 (${failed.message}): install python3-magic-wormhole-mailbox-server`)
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mailbox server did not start on port ${port}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url: `ws://127.0.0.1:${port}/v1`,
    port,
    child,
    async stop() {
      if (child.exitCode === null && !failed) child.kill('SIGTERM')
      await exited
    },
  }
}
