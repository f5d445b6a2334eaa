/**
 * The frames that carry many byte streams over one ordered, encrypted byte stream (the DHT
 * path's Noise stream). Each frame is `type u8, stream u32, value u32`, and a DATA frame is
 * followed by `value` bytes. docs/PROTOCOL.md describes them; this file only reads and writes.
 */
export const FRAME_HEADER_BYTES = 9
/** A DATA frame carries at most this much; bigger writes are split. */
export const MAX_DATA_BYTES = 64 * 1024
/** WINDOW for this stream number raises the link-wide window instead of one stream's. */
export const LINK_WINDOW_STREAM = 0xffffffff

export const FrameType = {
  /** `value` bytes of data follow. The first frame for a new stream number opens it. */
  DATA: 0,
  /** The sender will send no more on this stream (a FIN). */
  FIN: 1,
  /** The sender abandons the stream in both directions, like QUIC's RESET_STREAM plus STOP_SENDING. */
  RESET: 2,
  /** The sender no longer reads this stream; the receiver's writes to it fail. */
  STOP: 3,
  /** The receiver may send `value` more bytes on this stream (or on the link). */
  WINDOW: 4,
  /** Asks for a PONG with the same `value` (liveness). */
  PING: 5,
  PONG: 6,
} as const
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType]

export interface Frame {
  type: FrameTypeCode
  stream: number
  value: number
  data?: Buffer
}

export function encodeFrame(type: FrameTypeCode, stream: number, value: number, data?: Buffer): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES)
  header.writeUInt8(type, 0)
  header.writeUInt32BE(stream, 1)
  header.writeUInt32BE(data ? data.length : value, 5)
  return data ? Buffer.concat([header, data]) : header
}

export type DecodeResult = { ok: true; frame: Frame; used: number } | { ok: false; reason: 'short' } | { ok: false; reason: 'bad'; detail: string }

/** Reads one frame from the front of `buf`; never buffers more than one frame's worth. */
export function decodeFrame(buf: Buffer): DecodeResult {
  if (buf.length < FRAME_HEADER_BYTES) return { ok: false, reason: 'short' }
  const type = buf.readUInt8(0)
  const stream = buf.readUInt32BE(1)
  const value = buf.readUInt32BE(5)
  if (type > FrameType.PONG) return { ok: false, reason: 'bad', detail: `unknown frame type ${type}` }
  if (type !== FrameType.DATA) return { ok: true, frame: { type: type as FrameTypeCode, stream, value }, used: FRAME_HEADER_BYTES }
  if (value === 0 || value > MAX_DATA_BYTES) return { ok: false, reason: 'bad', detail: `a data frame of ${value} bytes` }
  if (buf.length < FRAME_HEADER_BYTES + value) return { ok: false, reason: 'short' }
  const data = buf.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + value)
  return { ok: true, frame: { type: FrameType.DATA, stream, value, data }, used: FRAME_HEADER_BYTES + value }
}
