import { lookup } from 'node:dns/promises'
import type { Logger } from 'pino'
import { HiveError, errorMessage } from '../errors.js'
import { parseHostPort } from '../protocol/address.js'
import { encodeControlHeader } from '../protocol/header.js'
import type { Ticket } from '../protocol/ticket.js'
import { ControlChannel } from '../link/control-channel.js'
import { withDeadline } from '../deadline.js'
import type { Link } from '../link/types.js'
import type { QuicDialer } from '../transport/index.js'
import { printable } from '../printable.js'

async function resolveAll(address: string): Promise<{ ip: string; family: 4 | 6; port: number }[]> {
  const parsed = parseHostPort(address)
  if (!parsed.ok) return []
  const { host, port, family } = parsed.value
  if (family !== 0) return [{ ip: host, family, port }]
  const found = await lookup(host, { all: true })
  return found.map((r) => ({ ip: r.address, family: r.family === 6 ? 6 : 4, port }))
}

/**
 * Dials every address in the ticket at once and keeps the first connection whose remote
 * key is the ticket's. A connection to any other key is closed before a byte is sent.
 */
export async function dialHub(dialer: QuicDialer, ticket: Ticket, timeoutMs: number, log: Logger, signal?: AbortSignal): Promise<Link> {
  const deadline = Date.now() + timeoutMs
  const mismatches: string[] = []
  const attempts = ticket.addresses.map(async (address) => {
    const targets = await withDeadline(resolveAll(address), timeoutMs, `resolving ${address}`, signal)
    return Promise.any(
      targets.map(async (t) => {
        const connection = await dialer.dial(t.ip, t.family, t.port, { timeoutMs: Math.max(1, deadline - Date.now()), signal })
        if (connection.remotePeerId !== ticket.peerId) {
          connection.close()
          mismatches.push(`${address} is ${connection.remotePeerId}`)
          throw new HiveError('IDENTITY_MISMATCH', `hub identity mismatch at ${address}`)
        }
        log.debug({ address, peerId: connection.remotePeerId }, 'hub reached')
        return connection
      }),
    )
  })
  try {
    const winner = await Promise.any(attempts)
    // Late winners of the race are closed as they arrive.
    for (const other of attempts) void other.then((c) => c !== winner && c.close(), () => undefined)
    return winner
  } catch (err) {
    if (signal?.aborted) throw new HiveError('ABORTED', 'join was cancelled')
    if (mismatches.length > 0) {
      throw new HiveError(
        'IDENTITY_MISMATCH',
        `hub identity mismatch: the ticket pins ${ticket.peerId}, but ${mismatches.join(', ')}`,
        { expected: ticket.peerId },
      )
    }
    const reasons = err instanceof AggregateError ? err.errors.map(errorMessage) : [errorMessage(err)]
    log.debug({ reasons }, 'every dial failed')
    throw new HiveError(
      'HUB_UNREACHABLE',
      `could not reach hub \`${ticket.name}\` at \`${ticket.addresses.join(', ')}\` within ${formatSeconds(timeoutMs)}`,
      { name: ticket.name, addresses: ticket.addresses.join(', ') },
    )
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`
}

/** Proves the token on a fresh control stream and waits for the hub's welcome. */
export async function sayHello(connection: Link, ticket: Ticket, peerName: string, timeoutMs: number): Promise<ControlChannel> {
  const stream = await connection.openStream()
  await stream.write(encodeControlHeader())
  const control = new ControlChannel(stream)
  await control.send({ type: 'hello', version: 1, token: Buffer.from(ticket.token).toString('base64url'), peer: peerName, alpn: ticket.alpn })
  const answer = await withDeadline(control.next(), timeoutMs, 'the hub\'s answer to hello').catch((err: unknown) => {
    throw new HiveError('HUB_UNREACHABLE', `hub \`${ticket.name}\` did not answer: ${errorMessage(err)}`)
  })
  if (answer?.type === 'welcome') return control
  if (answer?.type === 'refused') {
    if (answer.code === 'token') throw new HiveError('TOKEN_REFUSED', `hub \`${ticket.name}\` refused the access token: ${printable(answer.message)}`)
    throw new HiveError('PROTOCOL_MISMATCH', `hub \`${ticket.name}\` refused the protocol: ${printable(answer.message)}`)
  }
  throw new HiveError('PROTOCOL_VIOLATION', `hub \`${ticket.name}\` answered the hello with ${answer?.type ?? 'nothing'}`)
}
