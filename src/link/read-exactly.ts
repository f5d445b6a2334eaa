import type { ByteStream } from './types.js'

/** Reads exactly `length` bytes from any stream; returns fewer only if the stream ends first. */
export async function readExactly(stream: Pick<ByteStream, 'readUpTo'>, length: number): Promise<Buffer> {
  const parts: Buffer[] = []
  let have = 0
  while (have < length) {
    const chunk = await stream.readUpTo(length - have)
    if (chunk === null) break
    parts.push(chunk)
    have += chunk.length
  }
  return Buffer.concat(parts, have)
}
