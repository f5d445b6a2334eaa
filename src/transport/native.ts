import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { HiveError, errorMessage } from '../errors.js'

/**
 * Typed view of the few members hive uses from the napi layer of @chainsafe/libp2p-quic.
 * That layer is not in the package's exports and its .d.ts says `any`, so these types
 * are ours; test/transport/native-shape.test.ts pins them against the shipped version.
 */
export interface NativeConfigOptions {
  privateKeyProto: Uint8Array
  handshakeTimeout: number
  maxIdleTimeout: number
  keepAliveInterval: number
  maxConcurrentStreamLimit: number
  maxStreamData: number
  maxConnectionData: number
  receiveBufferSize: number
  sendBufferSize: number
  /** Required by native 2.1.4, unknown to 2.1.1. */
  shutdownTimeout: number
}

export interface NativeStream {
  /** The stream's index among the opener's bidirectional streams; throws while a write is pending. */
  id(): string
  read(maxBytes: number): Promise<Uint8Array | null>
  write(data: Uint8Array): Promise<void>
  finishWrite(): Promise<void>
  resetWrite(): Promise<void>
  stopRead(): Promise<void>
}

export interface NativeConnection {
  outboundStream(): Promise<NativeStream>
  inboundStream(): Promise<NativeStream>
  remoteMultiaddr(): string
  closed(): Promise<void>
  abort(): void
}

export interface NativeServer {
  port(): number
  inboundConnection(): Promise<NativeConnection>
  abort(): void
}

export interface NativeClient {
  outboundConnection(ip: string, port: number): Promise<NativeConnection>
  abort(): void
}

export interface NativeBinding {
  QuinnConfig: new (options: NativeConfigOptions) => object
  Server: new (config: object, ip: string, port: number) => NativeServer
  Client: new (config: object, family: 0 | 1) => NativeClient
}

/**
 * Gives quinn's tokio runtime one worker fewer than the cores, since the JavaScript thread
 * needs a core of its own, unless the environment already sets TOKIO_WORKER_THREADS. On
 * 2 cores, one worker instead of tokio's default of two cut the forwarders' CPU per GiB by
 * 8–12% and per request by about 10% (bench/OPTIMISATIONS.md): fewer operations hop between
 * threads. The runtime reads the variable once, when the native module first starts it, so
 * a program calls this at start-up; a library leaves the process environment alone.
 */
export function useDefaultQuicThreads(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): void {
  env.TOKIO_WORKER_THREADS ??= String(Math.max(1, cores - 1))
}

let loaded: Promise<NativeBinding> | undefined

export function loadNative(): Promise<NativeBinding> {
  loaded ??= (async () => {
    try {
      const mod = (await import(napiModuleUrl())) as Partial<NativeBinding>
      if (typeof mod.QuinnConfig !== 'function' || typeof mod.Server !== 'function' || typeof mod.Client !== 'function') {
        throw new Error('the native module does not export QuinnConfig, Server and Client')
      }
      return mod as NativeBinding
    } catch (err) {
      loaded = undefined
      throw new HiveError(
        'TRANSPORT_UNAVAILABLE',
        `the QUIC library has no native build for ${process.platform}-${process.arch} here (${firstLine(errorMessage(err))})`,
        { platform: `${process.platform}-${process.arch}` },
        { cause: err },
      )
    }
  })()
  return loaded
}

/**
 * napi.js is outside the package's exports map, so it is found the way Node finds the
 * package itself: in the node_modules folders above this file.
 */
function napiModuleUrl(): string {
  const candidates = createRequire(import.meta.url).resolve.paths('@chainsafe/libp2p-quic') ?? []
  for (const dir of candidates) {
    const file = join(dir, '@chainsafe', 'libp2p-quic', 'dist', 'src', 'napi.js')
    if (existsSync(file)) return pathToFileURL(file).href
  }
  throw new Error('@chainsafe/libp2p-quic is not installed')
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 200)
}
