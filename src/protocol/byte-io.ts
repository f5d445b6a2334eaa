/** Minimal length-prefixed byte codec used by the ticket. Reads throw ShortRead past the end. */
export class ShortRead extends Error {}

export class ByteWriter {
  private readonly parts: Buffer[] = []

  u8(value: number): this {
    this.parts.push(Buffer.of(value))
    return this
  }

  raw(bytes: Uint8Array): this {
    this.parts.push(Buffer.from(bytes))
    return this
  }

  /** A u8 length, then the bytes: fields stay under 256 bytes by design. */
  short(bytes: Uint8Array): this {
    if (bytes.length > 0xff) throw new RangeError(`field too long: ${bytes.length} bytes`)
    return this.u8(bytes.length).raw(bytes)
  }

  text(value: string): this {
    return this.short(Buffer.from(value, 'utf8'))
  }

  done(): Buffer {
    return Buffer.concat(this.parts)
  }
}

export class ByteReader {
  private offset = 0

  constructor(private readonly bytes: Buffer) {}

  get remaining(): number {
    return this.bytes.length - this.offset
  }

  u8(): number {
    return this.raw(1)[0]!
  }

  raw(length: number): Buffer {
    if (this.offset + length > this.bytes.length) throw new ShortRead()
    const out = this.bytes.subarray(this.offset, this.offset + length)
    this.offset += length
    return out
  }

  short(): Buffer {
    return this.raw(this.u8())
  }

  text(): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.short())
  }
}
