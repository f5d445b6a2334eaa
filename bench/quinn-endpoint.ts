import { ephemeralIdentity } from '../src/identity/identity.js'
import { QuicDialer, QuicListener, useDefaultQuicThreads, type QuicStream } from '../src/transport/index.js'

/**
 * The `quinn` path: hive's transport adapter alone, no TCP at either end. One process serves
 * (sink or echo per stream); another, the client, measures and prints JSON.
 */
const CHUNK = Buffer.alloc(64 * 1024, 0x61)

// The same runtime as the CLI's, so that this path stays the ceiling of hive's own.
useDefaultQuicThreads()

async function serve(): Promise<void> {
  const listener = await QuicListener.bind(await ephemeralIdentity(), '127.0.0.1', 0)
  process.stdout.write(`${listener.port}\n`)
  for (;;) {
    const connection = await listener.accept()
    void (async () => {
      for (;;) {
        const stream = await connection.acceptStream().catch(() => null)
        if (!stream) return
        void handle(stream).catch(() => stream.reset())
      }
    })()
  }
}

async function handle(stream: QuicStream): Promise<void> {
  const mode = (await stream.readExactly(1)).toString()
  let total = 0
  for (let chunk = await stream.read(); chunk !== null; chunk = await stream.read()) {
    total += chunk.length
    if (mode === 'E') await stream.write(chunk)
  }
  if (mode === 'S') {
    const count = Buffer.alloc(8)
    count.writeBigUInt64BE(BigInt(total))
    await stream.write(count)
  }
  await stream.finish()
}

async function readAll(stream: QuicStream): Promise<Buffer> {
  const parts: Buffer[] = []
  for (let c = await stream.read(); c !== null; c = await stream.read()) parts.push(c)
  return Buffer.concat(parts)
}

async function client(port: number, task: string, a: number, b: number): Promise<unknown> {
  const dialer = await QuicDialer.create(await ephemeralIdentity())
  const connection = await dialer.dial('127.0.0.1', 4, port, { timeoutMs: 5000 })
  const echo = async (): Promise<number> => {
    const started = performance.now()
    const s = await connection.openStream()
    await s.write(Buffer.concat([Buffer.from('E'), CHUNK.subarray(0, 64)]))
    await s.finish()
    const back = await readAll(s)
    if (back.length !== 64) throw new Error('short echo')
    return performance.now() - started
  }
  if (task === 'bulk') {
    const [seconds, streams] = [a, b]
    const until = Date.now() + seconds * 1000
    const started = performance.now()
    const counts = await Promise.all(
      Array.from({ length: streams }, async () => {
        const s = await connection.openStream()
        await s.write(Buffer.from('S'))
        while (Date.now() < until) await s.write(CHUNK)
        await s.finish()
        return Number((await readAll(s)).readBigUInt64BE(0))
      }),
    )
    const bytes = counts.reduce((x, y) => x + y, 0)
    const elapsed = (performance.now() - started) / 1000
    // This process is one end of the path: report its CPU (quinn's threads included) too.
    const cpu = process.cpuUsage()
    return { mbps: bytes / 1e6 / elapsed, bytes, seconds: elapsed, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
  }
  if (task === 'ping') {
    // 64-byte round trips on one open stream: the transport's own latency floor.
    const s = await connection.openStream()
    await s.write(Buffer.from('E'))
    const times: number[] = []
    for (let i = 0; i < a; i++) {
      const started = performance.now()
      await s.write(CHUNK.subarray(0, 64))
      if ((await s.readExactly(64)).length !== 64) throw new Error('short echo')
      times.push(performance.now() - started)
    }
    times.sort((x, y) => x - y)
    return { p50ms: times[Math.floor(times.length / 2)], p99ms: times[Math.floor(times.length * 0.99)] }
  }
  if (task === 'load') {
    // 64-byte round trips on `concurrency` open streams at once, for `seconds`: the transport's
    // own request rate and CPU per round trip, to set against HTTP through a tunnel.
    const [seconds, concurrency] = [a, b]
    const streams = await Promise.all(
      Array.from({ length: concurrency }, async () => {
        const s = await connection.openStream()
        await s.write(Buffer.from('E'))
        return s
      }),
    )
    const times: number[] = []
    const cpuBefore = process.cpuUsage()
    const until = performance.now() + seconds * 1000
    const started = performance.now()
    await Promise.all(
      streams.map(async (s) => {
        while (performance.now() < until) {
          const sent = performance.now()
          await s.write(CHUNK.subarray(0, 64))
          if ((await s.readExactly(64)).length !== 64) throw new Error('short echo')
          times.push(performance.now() - sent)
        }
      }),
    )
    const elapsed = (performance.now() - started) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    times.sort((x, y) => x - y)
    return {
      rps: times.length / elapsed,
      requests: times.length,
      p50ms: times[Math.floor(times.length / 2)],
      p99ms: times[Math.floor(times.length * 0.99)],
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    }
  }
  if (task === 'fresh') {
    await echo()
    const times: number[] = []
    for (let i = 0; i < a; i++) times.push(await echo())
    times.sort((x, y) => x - y)
    return { ms: times[Math.floor(times.length / 2)] }
  }
  if (task === 'burst') {
    const started = performance.now()
    const results = await Promise.allSettled(Array.from({ length: a }, () => echo()))
    return { ms: performance.now() - started, failures: results.filter((r) => r.status === 'rejected').length }
  }
  throw new Error(`unknown task ${task}`)
}

const [role, ...rest] = process.argv.slice(2)
if (role === 'server') await serve()
else {
  const result = await client(Number(rest[0]), rest[1]!, Number(rest[2] ?? 0), Number(rest[3] ?? 0))
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(0)
}
