// Bundles tsc's output (build/) into dist/: hive's modules and its pure-JS dependencies
// (commander, pino, zod, @noble/*) become a few files, so that Node resolves, reads and compiles
// a handful instead of about 150 at every start (bench/OPTIMISATIONS.md). Each lazily loaded
// part (the wormhole client, each command) stays a chunk of its own, loaded when used. What
// loads native code or is loaded only for the DHT path stays in node_modules.
import { chmodSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'

/** Native code (quinn; the DHT's UDX and sodium), and large libraries loaded only on their path (the DHT, the wormhole's WebSocket). */
const EXTERNAL = ['@chainsafe/libp2p-quic', 'hyperdht', 'hyperdht/*', 'blind-relay', 'undici']

export async function bundle(root = join(import.meta.dirname, '..')) {
  const outdir = join(root, 'dist')
  rmSync(outdir, { recursive: true, force: true })
  await build({
    entryPoints: [join(root, 'build', 'cli.js')],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    // CommonJS dependencies inside an ES module bundle still `require` Node's built-ins.
    banner: { js: "import { createRequire as __hiveCreateRequire } from 'node:module'; const require = __hiveCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  })
  chmodSync(join(outdir, 'cli.js'), 0o755)
}

// Run as a script (npm run build); compared as URLs, so that a path with spaces still matches.
if (import.meta.url === pathToFileURL(process.argv[1]).href) await bundle()
