import { z } from 'zod'
import { NAME_PATTERN } from './names.js'

/**
 * Control messages travel on the control stream as frames: a 2-byte big-endian length,
 * then that many bytes of UTF-8 JSON. The length caps what a peer can make us buffer.
 *
 * Version 2 reads every message leniently: unknown fields are ignored and unknown message
 * types are skipped, so later versions can add both. Version 1 peers read strictly, so a hub
 * sends them only what version 1 defines (docs/PROTOCOL.md).
 */
export const MAX_CONTROL_FRAME = 4096
const LENGTH_BYTES = 2

/** The control protocol versions this hive speaks, oldest first. */
export const PROTOCOL_VERSIONS = [1, 2] as const
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number]
export const CURRENT_VERSION: ProtocolVersion = 2

const name = z.string().regex(NAME_PATTERN)
const version = z.union([z.literal(1), z.literal(2)])

export const HelloSchema = z.looseObject({
  type: z.literal('hello'),
  version,
  token: z.string().min(16).max(128),
  peer: name,
  alpn: z.string().min(1).max(64),
  /** Version 2: the session this peer still holds and would keep, if the hub still has it (its welcome's `session`). */
  resume: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/).optional(),
})
export const WelcomeSchema = z.looseObject({
  type: z.literal('welcome'),
  hub: name,
  /** Version 2 hubs confirm the version here; version 1 welcomes have no such field. */
  version: version.optional(),
  /** Version 2: data streams the peer may keep open at once (`--max-streams`). */
  streams: z.number().int().min(1).max(1_000_000).optional(),
  /** Version 2: this session's id; a hub that sends it answers pings and takes `resume` in a hello. */
  session: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/).optional(),
  /**
   * Version 2, for a hello with `resume` the hub does not hold: `unknown` if it never gave out
   * that session (it restarted since), `ended` if it had it. Other values may follow.
   */
  previous: z.string().regex(/^[a-z_]{1,32}$/).optional(),
  /** Version 2, with `previous: ended`: the last data stream number the hub took on that session (0: none). */
  seen: z.number().int().min(0).max(2 ** 32).optional(),
})
/** Codes a version 1 peer understands; later ones go only to version 2 peers. */
export const V1_REFUSAL_CODES = ['token', 'alpn', 'version'] as const
export const RefusedSchema = z.looseObject({
  type: z.literal('refused'),
  code: z.string().regex(/^[a-z_]{1,32}$/),
  message: z.string().max(256),
})
export const ByeSchema = z.looseObject({
  type: z.literal('bye'),
  reason: z.string().min(1).max(256),
  /**
   * Why, for machines (version 2): `stopped` and `revoked` end the peer for good, `restarting`
   * asks it to come back; others (`replaced`, `full`, `left`, `silent`, ...) may be added freely.
   */
  code: z.string().regex(/^[a-z_]{1,32}$/).optional(),
})
/** Version 2: abandon the data stream with this QUIC stream index, at once (see PROTOCOL.md). */
export const AbortSchema = z.looseObject({
  type: z.literal('abort'),
  stream: z.number().int().min(1).max(2 ** 32),
})
/** Version 2: a liveness check; a hub that gave a `session` in its welcome answers each with a pong. */
export const PingSchema = z.looseObject({
  type: z.literal('ping'),
  seq: z.number().int().min(0).max(2 ** 32),
})
export const PongSchema = z.looseObject({
  type: z.literal('pong'),
  seq: z.number().int().min(0).max(2 ** 32),
})

export const ControlMessageSchema = z.discriminatedUnion('type', [HelloSchema, WelcomeSchema, RefusedSchema, ByeSchema, AbortSchema, PingSchema, PongSchema])
export type ControlMessage = z.infer<typeof ControlMessageSchema>
export type Hello = z.infer<typeof HelloSchema>
export type Bye = z.infer<typeof ByeSchema>
const KNOWN_TYPES = new Set(['hello', 'welcome', 'refused', 'bye', 'abort', 'ping', 'pong'])

export function encodeControl(message: ControlMessage): Buffer {
  const body = Buffer.from(JSON.stringify(ControlMessageSchema.parse(message)), 'utf8')
  if (body.length > MAX_CONTROL_FRAME) throw new RangeError(`control frame too large: ${body.length} bytes`)
  const out = Buffer.allocUnsafe(LENGTH_BYTES + body.length)
  out.writeUInt16BE(body.length, 0)
  body.copy(out, LENGTH_BYTES)
  return out
}

export type ControlDecodeResult =
  | { ok: true; message: ControlMessage; rest: Buffer }
  /** A message of a type this version does not know: skip it. */
  | { ok: true; message: null; rest: Buffer }
  | { ok: false; reason: 'short' }
  /** A hello in a version this hive does not speak; a hub answers refused{code: "version"}. */
  | { ok: false; reason: 'unsupported-version'; version: unknown; detail: string }
  | { ok: false; reason: 'oversized' | 'bad-json' | 'bad-message'; detail: string }

/** Takes one frame off the front of `buffered`; `short` means wait for more bytes. */
export function decodeControl(buffered: Buffer): ControlDecodeResult {
  if (buffered.length < LENGTH_BYTES) return { ok: false, reason: 'short' }
  const length = buffered.readUInt16BE(0)
  if (length > MAX_CONTROL_FRAME) return { ok: false, reason: 'oversized', detail: `${length} bytes` }
  if (buffered.length < LENGTH_BYTES + length) return { ok: false, reason: 'short' }
  const body = buffered.subarray(LENGTH_BYTES, LENGTH_BYTES + length)
  const rest = buffered.subarray(LENGTH_BYTES + length)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch (err) {
    return { ok: false, reason: 'bad-json', detail: (err as Error).message }
  }
  const head = z.looseObject({ type: z.string(), version: z.unknown().optional() }).safeParse(json)
  if (!head.success) return { ok: false, reason: 'bad-message', detail: 'not an object with a "type"' }
  if (!KNOWN_TYPES.has(head.data.type)) return { ok: true, message: null, rest }
  if (head.data.type === 'hello' && !(PROTOCOL_VERSIONS as readonly unknown[]).includes(head.data.version)) {
    return { ok: false, reason: 'unsupported-version', version: head.data.version, detail: `version ${JSON.stringify(head.data.version)?.slice(0, 20)}` }
  }
  const parsed = ControlMessageSchema.safeParse(json)
  if (!parsed.success) return { ok: false, reason: 'bad-message', detail: parsed.error.issues[0]?.message ?? 'invalid' }
  return { ok: true, message: parsed.data, rest }
}
