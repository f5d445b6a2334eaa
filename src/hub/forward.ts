import type { Logger } from 'pino'
import { errorMessage } from '../errors.js'
import type { HostPort } from '../protocol/address.js'
import { HEADER_LENGTH, decodeHeader, encodeAck } from '../protocol/header.js'
import type { ServiceName } from '../protocol/services.js'
import { withDeadline } from '../deadline.js'
import { pipe, type PipeResult } from '../link/pipe.js'
import type { Traffic } from '../link/traffic.js'
import type { ByteStream } from '../link/types.js'
import { dialService } from './dial-service.js'

export interface ForwardContext {
  /** The shared services by port id (assignPortIds). */
  services: ReadonlyMap<number, { name: ServiceName; target: HostPort }>
  headerTimeoutMs: number
  dialTimeoutMs: number
  log: Logger
  warn(message: string, service?: ServiceName): void
  track(release: () => void): () => void
  /** What the hub carries, per service: the live view and `stats` events. */
  traffic: Traffic
}

/** What one session lends each of its streams: a way to be aborted by the peer, and to abort it. */
export interface StreamRegistry {
  /** Registers a stream the peer may abort by its id; the returned function unregisters it. */
  register(id: number, controller: AbortController): () => void
  /** Tells the peer to abandon the stream with this id (its reset could not get out). */
  abortRemote(id: number): void
}

export type ForwardOutcome =
  | { kind: 'refused'; reason: string; service?: ServiceName }
  | { kind: 'piped'; service: ServiceName; result: PipeResult }

async function refuse(stream: ByteStream, reason: string, service?: ServiceName): Promise<ForwardOutcome> {
  await stream.write(encodeAck(false)).catch(() => undefined)
  void stream.finish()
  stream.stopReading()
  return { kind: 'refused', reason, service }
}

/**
 * One data stream on the hub: read the header within a deadline, connect to the service it
 * names, and only then answer 0xFF and start piping; any failure answers 0x00.
 */
export async function forwardStream(stream: ByteStream, ctx: ForwardContext, registry: StreamRegistry): Promise<ForwardOutcome> {
  const aborted = new AbortController()
  const unregister = registry.register(stream.id, aborted)
  try {
    return await forward(stream, ctx, registry, aborted.signal)
  } finally {
    unregister()
  }
}

async function forward(stream: ByteStream, ctx: ForwardContext, registry: StreamRegistry, signal: AbortSignal): Promise<ForwardOutcome> {
  let header: Buffer
  try {
    header = await withDeadline(stream.readExactly(HEADER_LENGTH), ctx.headerTimeoutMs, 'stream header', signal)
  } catch (err) {
    stream.reset()
    return { kind: 'refused', reason: errorMessage(err) }
  }
  const decoded = decodeHeader(header)
  if (!decoded.ok) return refuse(stream, `bad stream header (${decoded.reason})`)
  if (decoded.target.kind !== 'data') return refuse(stream, 'a second control stream')
  const shared = ctx.services.get(decoded.target.portId)
  if (!shared) return refuse(stream, `port id ${decoded.target.portId} is not a service this hub shares`)
  const { name: service, target } = shared

  let socket
  try {
    socket = await dialService(target, ctx.dialTimeoutMs)
  } catch (err) {
    ctx.warn(`${service} service is unreachable: ${errorMessage(err)}`, service)
    return refuse(stream, errorMessage(err), service)
  }
  const untrack = ctx.track(() => socket.destroy())
  try {
    await stream.write(encodeAck(true))
  } catch (err) {
    untrack()
    socket.resetAndDestroy()
    return { kind: 'refused', reason: `peer went away before the ACK: ${errorMessage(err)}`, service }
  }
  const traffic = ctx.traffic.open(service)
  const result = await pipe(socket, stream, { signal, meter: traffic.meter })
  traffic.close()
  untrack()
  if (result.stuck && !signal.aborted) registry.abortRemote(stream.id)
  ctx.log.debug({ service, stream: stream.id, ...result }, 'stream closed')
  return { kind: 'piped', service, result }
}
