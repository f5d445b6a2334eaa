// The parts of the Holepunch stack hive uses; the packages ship no types.
declare module 'hyperdht' {
  import type { Duplex } from 'node:stream'
  import type { EventEmitter } from 'node:events'

  export interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }

  /** A Noise-encrypted stream (@hyperswarm/secret-stream) over a UDX stream. */
  export interface NoiseSocket extends Duplex {
    remotePublicKey: Buffer
    publicKey: Buffer
    rawStream: { remoteHost: string; remotePort: number; socket: unknown } | null
    opened: Promise<boolean>
    setKeepAlive(ms: number): void
  }

  export interface ServerOptions {
    firewall?: (remotePublicKey: Buffer, payload: unknown, address: unknown) => boolean
    holepunch?: boolean | ((...args: unknown[]) => boolean)
    relayThrough?: Buffer | Buffer[] | (() => Buffer | null) | null
  }

  export interface Server extends EventEmitter {
    listen(keyPair: KeyPair): Promise<void>
    close(): Promise<void>
    address(): { host: string; port: number; publicKey: Buffer } | null
  }

  export interface ConnectOptions {
    keyPair?: KeyPair
    relayThrough?: Buffer | Buffer[] | (() => Buffer | null) | null
    holepunch?: boolean | ((...args: unknown[]) => boolean)
    fastOpen?: boolean
    localConnection?: boolean
  }

  export interface DHTOptions {
    bootstrap?: Array<string | { host: string; port: number }>
    keyPair?: KeyPair
    port?: number
    host?: string
    ephemeral?: boolean
    firewalled?: boolean
    connectionKeepAlive?: number | false
  }

  export default class DHT extends EventEmitter {
    constructor(options?: DHTOptions)
    static keyPair(seed?: Buffer): KeyPair
    static bootstrapper(port: number, host: string, options?: DHTOptions): DHT
    readonly destroyed: boolean
    readonly firewalled: boolean
    readonly table: { size: number }
    ready(): Promise<void>
    address(): { host: string; port: number; family: number }
    remoteAddress(): { host: string; port: number } | null
    createServer(options?: ServerOptions, onconnection?: (socket: NoiseSocket) => void): Server
    connect(publicKey: Buffer, options?: ConnectOptions): NoiseSocket
    createRawStream(options?: object): Duplex
    destroy(options?: { force?: boolean }): Promise<void>
  }
}

declare module 'blind-relay' {
  import type { Duplex } from 'node:stream'
  export class Server {
    constructor(options: { createStream(options: unknown): Duplex })
    accept(stream: Duplex, options?: { id?: Buffer }): { on(event: string, listener: (...args: unknown[]) => void): unknown; destroy(): void }
    close(): Promise<void>
  }
}
