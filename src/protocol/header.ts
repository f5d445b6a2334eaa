/**
 * The first bytes on every stream: one port id and the magic. Port id 0x00 marks the
 * control stream; 0x01..0xFF are data streams, each id one of the hub's services (its table;
 * frontend, backend and websocket keep 0x01..0x03).
 */
export const MAGIC = Buffer.from('hivemindp2p', 'ascii')
export const HEADER_LENGTH = 1 + MAGIC.length
export const CONTROL_PORT_ID = 0x00

export const ACK_OK = 0xff
export const ACK_REFUSED = 0x00

export type HeaderTarget = { kind: 'control' } | { kind: 'data'; portId: number }

export type HeaderDecodeResult =
  | { ok: true; target: HeaderTarget }
  | { ok: false; reason: 'short' | 'extra-bytes' | 'bad-magic' }

export function encodeHeader(portId: number): Buffer {
  if (!Number.isInteger(portId) || portId < 0 || portId > 0xff) throw new RangeError(`port id out of range: ${portId}`)
  const out = Buffer.allocUnsafe(HEADER_LENGTH)
  out[0] = portId
  MAGIC.copy(out, 1)
  return out
}

export function encodeDataHeader(portId: number): Buffer {
  if (portId === CONTROL_PORT_ID) throw new RangeError('port id 0 is the control stream')
  return encodeHeader(portId)
}

export function encodeControlHeader(): Buffer {
  return encodeHeader(CONTROL_PORT_ID)
}

/** Decodes exactly one header; a reader hands it precisely HEADER_LENGTH bytes, or fewer at EOF. */
export function decodeHeader(bytes: Uint8Array): HeaderDecodeResult {
  if (bytes.length < HEADER_LENGTH) return { ok: false, reason: 'short' }
  if (bytes.length > HEADER_LENGTH) return { ok: false, reason: 'extra-bytes' }
  if (!MAGIC.equals(bytes.subarray(1))) return { ok: false, reason: 'bad-magic' }
  const portId = bytes[0]!
  if (portId === CONTROL_PORT_ID) return { ok: true, target: { kind: 'control' } }
  return { ok: true, target: { kind: 'data', portId } }
}

export type AckDecodeResult = { ok: true; accepted: boolean } | { ok: false; reason: 'short' | 'extra-bytes' | 'bad-value' }

export function encodeAck(accepted: boolean): Buffer {
  return Buffer.of(accepted ? ACK_OK : ACK_REFUSED)
}

export function decodeAck(bytes: Uint8Array): AckDecodeResult {
  if (bytes.length < 1) return { ok: false, reason: 'short' }
  if (bytes.length > 1) return { ok: false, reason: 'extra-bytes' }
  if (bytes[0] === ACK_OK) return { ok: true, accepted: true }
  if (bytes[0] === ACK_REFUSED) return { ok: true, accepted: false }
  return { ok: false, reason: 'bad-value' }
}
