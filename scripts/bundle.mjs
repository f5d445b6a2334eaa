// Bundles tsc's output (build/) into dist/: hive's own modules become a few files, so that Node
// resolves, reads and compiles a handful instead of about 80 at every start (`hive share` from
// start to ready, profiled three times each: 28-53 ms less main-thread time, of 153-218).
// Dependencies stay in node_modules, and each lazily loaded part (the DHT, the wormhole client,
// each command) stays a chunk of its own, loaded when used.
import { chmodSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'

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
    packages: 'external',
    logLevel: 'warning',
  })
  chmodSync(join(outdir, 'cli.js'), 0o755)
}

// Run as a script (npm run build); compared as URLs, so that a path with spaces still matches.
if (import.meta.url === pathToFileURL(process.argv[1]).href) await bundle()
