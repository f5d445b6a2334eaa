// A hostile client, run as its own process so its load stays out of the test's: it makes
// QUIC connections to a hub and never says anything on them.
//   node quic-flood.mjs burst PORT COUNT HOLD_MS   2000 handshakes at once, held, then gone
//   node quic-flood.mjs junk PORT PER_SECOND SECONDS   handshakes that start and never finish
import { createSocket } from 'node:dgram'
import { ephemeralIdentity } from '../../build/identity/identity.js'
import { QuicDialer } from '../../build/transport/index.js'

const [mode, portText, a, b] = process.argv.slice(2)
const port = Number(portText)

if (mode === 'burst') {
  const count = Number(a)
  const holdMs = Number(b)
  // Several client endpoints, as several attackers would have.
  const dialers = await Promise.all(Array.from({ length: 8 }, async () => QuicDialer.create(await ephemeralIdentity())))
  let ok = 0
  let failed = 0
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      dialers[i % dialers.length].dial('127.0.0.1', 4, port, { timeoutMs: 20_000 }).then(
        () => ok++,
        () => failed++,
      ),
    ),
  )
  process.stdout.write(JSON.stringify({ ok, failed }) + '\n')
  await new Promise((r) => setTimeout(r, holdMs))
  process.exit(0)
}

if (mode === 'junk') {
  // The first datagram of a real dial, to a UDP port that never answers: a QUIC Initial. Each
  // is sent once, from a fresh port, to the hub, which starts a handshake that never finishes.
  const perSecond = Number(a)
  const seconds = Number(b)
  const initials = []
  const sink = createSocket('udp4')
  sink.on('message', (packet, from) => {
    if (!initials.some((i) => i.from === from.port)) initials.push({ from: from.port, packet })
  })
  await new Promise((r) => sink.bind(0, '127.0.0.1', r))
  const need = Math.ceil(perSecond * seconds) + 1
  while (initials.length < need) {
    const dialer = await QuicDialer.create(await ephemeralIdentity())
    dialer.dial('127.0.0.1', 4, sink.address().port, { timeoutMs: 200 }).catch(() => undefined)
    await new Promise((r) => setTimeout(r, 30))
    dialer.close()
  }
  sink.close()
  process.stdout.write(JSON.stringify({ captured: initials.length }) + '\n')
  for (let i = 0; i < need; i++) {
    const socket = createSocket('udp4')
    socket.on('error', () => undefined)
    socket.on('message', () => undefined)
    socket.bind(0, '127.0.0.1', () => socket.send(initials[i].packet, port, '127.0.0.1'))
    await new Promise((r) => setTimeout(r, 1000 / perSecond))
  }
  process.exit(0)
}
