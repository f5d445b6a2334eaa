import { Refusal } from './budget.js'

/** A client frame that is a JSON object with a string `type`: the only shape the protocol has. */
export interface ClientMessage {
  type: string
  /** The client's request id, echoed in the ack; `null` when it sent none. */
  id: string | null
  fields: Record<string, unknown>
}

export type ParsedFrame = { ok: true; message: ClientMessage } | { ok: false; error: string; orig: unknown }

/**
 * Reads one text frame. Anything else than an object with a string `type` (and, if any, a
 * string `id`) is answered with an error rather than acknowledged, as Debian's server does
 * for a missing `type`; the size of the frame is already bounded by the WebSocket.
 */
export function parseFrame(text: string, maxIdChars: number): ParsedFrame {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { ok: false, error: 'message is not JSON', orig: null }
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { ok: false, error: 'message is not a JSON object', orig: json }
  const fields = json as Record<string, unknown>
  if (!('type' in fields)) return { ok: false, error: "missing 'type'", orig: fields }
  if (typeof fields.type !== 'string') return { ok: false, error: "'type' must be a string", orig: fields }
  const id = fields.id ?? null
  if (id !== null && (typeof id !== 'string' || id.length > maxIdChars)) {
    return { ok: false, error: `'id' must be a string of at most ${maxIdChars} characters`, orig: fields }
  }
  return { ok: true, message: { type: fields.type, id, fields } }
}

/**
 * Field `name` of a request, which must be a non-empty string of at most `maxChars`; `missing`
 * is the refusal when it is absent, in the words of Debian's server.
 */
export function requiredString(message: ClientMessage, name: string, missing: string, maxChars: number): string {
  const value = message.fields[name]
  if (value === undefined || value === null) throw new Refusal(missing)
  return checkedString(value, name, maxChars)
}

/** Field `name` if present (`null` if absent or null), with the same checks. */
export function optionalString(message: ClientMessage, name: string, maxChars: number): string | null {
  const value = message.fields[name]
  if (value === undefined || value === null) return null
  return checkedString(value, name, maxChars)
}

function checkedString(value: unknown, name: string, maxChars: number): string {
  if (typeof value !== 'string') throw new Refusal(`'${name}' must be a string`)
  if (value.length === 0) throw new Refusal(`'${name}' must not be empty`)
  if (value.length > maxChars) throw new Refusal(`'${name}' is too long (at most ${maxChars} characters)`)
  return value
}
