import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { loadNative } from '../../src/transport/native.js'

/** Pins the private napi interface hive depends on, against the versions installed. */
describe('native layer', () => {
  it('is the pinned wrapper with the patched native build', () => {
    const require = createRequire(import.meta.url)
    const pkg = (name: string): { version: string } => JSON.parse(readFileSync(require.resolve(`${name}/package.json`, { paths: [process.cwd()] }), 'utf8'))
    expect(JSON.parse(readFileSync('node_modules/@chainsafe/libp2p-quic/package.json', 'utf8')).version).toBe('2.1.1')
    expect(pkg('@chainsafe/libp2p-quic-linux-x64-gnu').version).toBe('2.1.4')
  })

  it('exposes the classes and members the adapter types', async () => {
    const native = await loadNative()
    for (const name of ['QuinnConfig', 'Server', 'Client'] as const) expect(typeof native[name]).toBe('function')
    expect(Object.getOwnPropertyNames(native.Server.prototype)).toEqual(expect.arrayContaining(['port', 'inboundConnection', 'abort']))
    expect(Object.getOwnPropertyNames(native.Client.prototype)).toEqual(expect.arrayContaining(['outboundConnection', 'abort']))
  })

  it('requires shutdownTimeout, as native 2.1.4 does', async () => {
    const native = await loadNative()
    expect(() => new native.QuinnConfig({} as never)).toThrow(/Missing field/)
  })
})
