import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { generateEd25519, privateKeyToProto } from '../../src/identity/ed25519.js'
import { describe, expect, it } from 'vitest'
import { loadNative, type NativeConfigOptions } from '../../src/transport/native.js'

/** Pins the private napi interface hive depends on, against the versions installed. */
describe('native layer', () => {
  it('is the pinned wrapper with the patched native build', () => {
    const require = createRequire(import.meta.url)
    const pkg = (name: string): { version: string } => JSON.parse(readFileSync(require.resolve(`${name}/package.json`, { paths: [process.cwd()] }), 'utf8'))
    expect(JSON.parse(readFileSync('node_modules/@chainsafe/libp2p-quic/package.json', 'utf8')).version).toBe('2.1.1')
    expect(pkg('@chainsafe/libp2p-quic-linux-x64-gnu').version).toBe('2.1.4')
  })

  it('exposes the classes and members the adapter types', async () => {
    const native = (await loadNative()) as unknown as Record<string, { prototype: object }>
    const members = (name: string): string[] => Object.getOwnPropertyNames(native[name]!.prototype)
    expect(members('Server')).toEqual(expect.arrayContaining(['port', 'inboundConnection', 'abort']))
    expect(members('Client')).toEqual(expect.arrayContaining(['outboundConnection', 'abort']))
    expect(members('Connection')).toEqual(expect.arrayContaining(['outboundStream', 'inboundStream', 'remoteMultiaddr', 'closed', 'abort']))
    expect(members('Stream')).toEqual(expect.arrayContaining(['id', 'read', 'write', 'finishWrite', 'resetWrite', 'stopRead']))
  })

  it('requires shutdownTimeout, as native 2.1.4 does, and takes the config the adapter builds', async () => {
    const native = await loadNative()
    const config: NativeConfigOptions = {
      privateKeyProto: privateKeyToProto(generateEd25519()),
      handshakeTimeout: 5000,
      maxIdleTimeout: 8000,
      keepAliveInterval: 2000,
      maxConcurrentStreamLimit: 16,
      maxStreamData: 1_000_000,
      maxConnectionData: 4_000_000,
      receiveBufferSize: 1_000_000,
      sendBufferSize: 1_000_000,
      shutdownTimeout: 500,
    }
    expect(() => new native.QuinnConfig(config)).not.toThrow()
    const { shutdownTimeout: _dropped, ...withoutShutdown } = config
    expect(() => new native.QuinnConfig(withoutShutdown as NativeConfigOptions)).toThrow(/Missing field `shutdownTimeout`/)
  })
})
