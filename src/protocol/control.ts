import { z } from 'zod'
import { NAME_PATTERN } from './names.js'

/**
 * Control messages travel on the control stream as frames: a 2-byte big-endian length,
 * then that many bytes of UTF-8 JSON. The length caps what a peer can make us buffer.
 */
export const MAX_CONTROL_FRAME = 4096
const LENGTH_BYTES = 2

const name = z.string().regex(NAME_PATTERN)

export const HelloSchema = z.strictObject({
  type: z.literal('hello'),
  version: z.literal(1),
  token: z.string().min(16).max(128),
  peer: name,
  alpn: z.string().min(1).max(64),
})
export const WelcomeSchema = z.strictObject({
  type: z.literal('welcome'),
  hub: name,
})
export const RefusedSchema = z.strictObject({
  type: z.literal('refused'),
  code: z.enum(['token', 'alpn', 'version']),
  message: z.string().max(256),
})
export const ByeSchema = z.strictObject({
  type: z.literal('bye'),
  reason: z.string().min(1).max(256),
})

export const ControlMessageSchema = z.discriminatedUnion('type', [HelloSchema, WelcomeSchema, RefusedSchema, ByeSchema])
export type ControlMessage = z.infer<typeof ControlMessageSchema>
export type Hello = z.infer<typeof HelloSchema>
export type Bye = z.infer<typeof ByeSchema>

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
  | { ok: false; reason: 'short' }
  | { ok: false; reason: 'oversized' | 'bad-json' | 'bad-message'; detail: string }

/** Takes one frame off the front of `buffered`; `short` means wait for more bytes. */
export function decodeControl(buffered: Buffer): ControlDecodeResult {
  if (buffered.length < LENGTH_BYTES) return { ok: false, reason: 'short' }
  const length = buffered.readUInt16BE(0)
  if (length > MAX_CONTROL_FRAME) return { ok: false, reason: 'oversized', detail: `${length} bytes` }
  if (buffered.length < LENGTH_BYTES + length) return { ok: false, reason: 'short' }
  const body = buffered.subarray(LENGTH_BYTES, LENGTH_BYTES + length)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch (err) {
    return { ok: false, reason: 'bad-json', detail: (err as Error).message }
  }
  const parsed = ControlMessageSchema.safeParse(json)
  if (!parsed.success) return { ok: false, reason: 'bad-message', detail: parsed.error.issues[0]?.message ?? 'invalid' }
  return { ok: true, message: parsed.data, rest: buffered.subarray(LENGTH_BYTES + length) }
}
