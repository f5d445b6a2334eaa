import { CheckError, integer, list, object, oneOf, optional, text, type Check, type Checked } from './check.js'
import { NAME_PATTERN } from './names.js'
import { MAX_SERVICES, type ServiceEntry } from './services.js'

/**
 * Control messages travel on the control stream as frames: a 2-byte big-endian length,
 * then that many bytes of UTF-8 JSON. The length caps what a peer can make us buffer.
 *
 * Version 2 reads every message leniently: unknown fields are ignored and unknown message
 * types are skipped, so later versions can add both. Version 1 peers read strictly, so a hub
 * sends them only what version 1 defines (docs/PROTOCOL.md).
 */
export const MAX_CONTROL_FRAME = 4096
/**
 * What a peer reads from a hub: a welcome with a table of 255 services, each named with up to
 * 63 characters, takes about 20 KiB. The hub still sends version 2 peers that ask for no table
 * nothing above MAX_CONTROL_FRAME, since they read no more.
 */
export const MAX_HUB_FRAME = 32 * 1024
const LENGTH_BYTES = 2

/** The control protocol versions this hive speaks, oldest first. */
export const PROTOCOL_VERSIONS = [1, 2] as const
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number]
export const CURRENT_VERSION: ProtocolVersion = 2

const name = text({ pattern: NAME_PATTERN, message: 'not a valid name' })
const version = oneOf([1, 2] as const)
const sessionId = text({ pattern: /^[A-Za-z0-9_-]{8,64}$/ })
const code = text({ pattern: /^[a-z_]{1,32}$/ })
const u32 = integer(0, 2 ** 32)
const loose = { loose: true }
const serviceEntry = object({ name, id: integer(1, MAX_SERVICES), port: integer(1, 65_535) }, loose)
/** A hub's service table: names and port ids each used once. */
const serviceTable: Check<ServiceEntry[]> = (v) => {
  const entries = list(serviceEntry, { max: MAX_SERVICES, maxMessage: `more than ${MAX_SERVICES} services` })(v)
  if (new Set(entries.map((e) => e.name)).size !== entries.length) throw new CheckError('a service name twice')
  if (new Set(entries.map((e) => e.id)).size !== entries.length) throw new CheckError('a port id twice')
  return entries
}

export const checkHello = object(
  {
    type: oneOf(['hello'] as const),
    version,
    token: text({ min: 16, max: 128 }),
    peer: name,
    alpn: text({ min: 1, max: 64 }),
    /** Version 2: the session this peer still holds and would keep, if the hub still has it (its welcome's `session`). */
    resume: optional(sessionId),
    /** Version 2: this peer reads the welcome's `services` table, and frames up to MAX_HUB_FRAME. */
    table: optional(oneOf([true, false] as const)),
  },
  loose,
)
export const checkWelcome = object(
  {
    type: oneOf(['welcome'] as const),
    hub: name,
    /** Version 2 hubs confirm the version here; version 1 welcomes have no such field. */
    version: optional(version),
    /** Version 2: data streams the peer may keep open at once (`--max-streams`). */
    streams: optional(integer(1, 1_000_000)),
    /** Version 2: this session's id; a hub that sends it answers pings and takes `resume` in a hello. */
    session: optional(sessionId),
    /**
     * Version 2, for a hello with `resume` the hub does not hold: `unknown` if it never gave out
     * that session (it restarted since), `ended` if it had it. Other values may follow.
     */
    previous: optional(code),
    /** Version 2, with `previous: ended`: the last data stream number the hub took on that session (0: none). */
    seen: optional(u32),
    /** Version 2, for a hello with `table`: the services the hub shares, with their port ids. */
    services: optional(serviceTable),
  },
  loose,
)
/** Codes a version 1 peer understands; later ones go only to version 2 peers. */
export const V1_REFUSAL_CODES = ['token', 'alpn', 'version'] as const
export const checkRefused = object({ type: oneOf(['refused'] as const), code, message: text({ max: 256 }) }, loose)
export const checkBye = object(
  {
    type: oneOf(['bye'] as const),
    reason: text({ min: 1, max: 256 }),
    /**
     * Why, for machines (version 2): `stopped` and `revoked` end the peer for good, `restarting`
     * asks it to come back; others (`replaced`, `full`, `left`, `silent`, ...) may be added freely.
     */
    code: optional(code),
  },
  loose,
)
/** Version 2: abandon the data stream with this QUIC stream index, at once (see PROTOCOL.md). */
export const checkAbort = object({ type: oneOf(['abort'] as const), stream: integer(1, 2 ** 32) }, loose)
/**
 * Version 2: a liveness check; a hub that gave a `session` in its welcome answers each with a
 * pong. A ping with `probe` is one of a train that times the link: the hub then watches for
 * pauses of its own, and the pong of a ping it read just after one says how long it was (`paused`, ms).
 */
export const checkPing = object({ type: oneOf(['ping'] as const), seq: u32, probe: optional(oneOf([true, false] as const)) }, loose)
export const checkPong = object({ type: oneOf(['pong'] as const), seq: u32, paused: optional(integer(0, 60_000)) }, loose)

const CHECKS = { hello: checkHello, welcome: checkWelcome, refused: checkRefused, bye: checkBye, abort: checkAbort, ping: checkPing, pong: checkPong }
export type Hello = Checked<typeof checkHello>
export type Bye = Checked<typeof checkBye>
export type ControlMessage = { [K in keyof typeof CHECKS]: Checked<(typeof CHECKS)[K]> }[keyof typeof CHECKS]

/** Checks a message by its type; throws CheckError. */
function checkMessage(value: unknown): ControlMessage {
  const type = (value as { type?: unknown } | null)?.type
  if (typeof type !== 'string' || !Object.hasOwn(CHECKS, type)) throw new CheckError('unknown message type')
  return CHECKS[type as keyof typeof CHECKS](value)
}

/** Encodes one frame; `maxFrame` is what the receiver reads (MAX_HUB_FRAME for a peer that asked for a table). */
export function encodeControl(message: ControlMessage, maxFrame = MAX_CONTROL_FRAME): Buffer {
  const body = Buffer.from(JSON.stringify(checkMessage(message)), 'utf8')
  if (body.length > maxFrame) throw new RangeError(`control frame too large: ${body.length} bytes`)
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
export function decodeControl(buffered: Buffer, maxFrame = MAX_CONTROL_FRAME): ControlDecodeResult {
  if (buffered.length < LENGTH_BYTES) return { ok: false, reason: 'short' }
  const length = buffered.readUInt16BE(0)
  if (length > maxFrame) return { ok: false, reason: 'oversized', detail: `${length} bytes` }
  if (buffered.length < LENGTH_BYTES + length) return { ok: false, reason: 'short' }
  const body = buffered.subarray(LENGTH_BYTES, LENGTH_BYTES + length)
  const rest = buffered.subarray(LENGTH_BYTES + length)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch (err) {
    return { ok: false, reason: 'bad-json', detail: (err as Error).message }
  }
  const head = json as { type?: unknown; version?: unknown } | null
  if (typeof head !== 'object' || head === null || Array.isArray(head) || typeof head.type !== 'string') {
    return { ok: false, reason: 'bad-message', detail: 'not an object with a "type"' }
  }
  if (!Object.hasOwn(CHECKS, head.type)) return { ok: true, message: null, rest }
  if (head.type === 'hello' && !(PROTOCOL_VERSIONS as readonly unknown[]).includes(head.version)) {
    return { ok: false, reason: 'unsupported-version', version: head.version, detail: `version ${JSON.stringify(head.version)?.slice(0, 20)}` }
  }
  try {
    return { ok: true, message: checkMessage(json), rest }
  } catch (err) {
    if (err instanceof CheckError) return { ok: false, reason: 'bad-message', detail: err.message }
    throw err
  }
}
