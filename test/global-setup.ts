import { execFileSync } from 'node:child_process'
import { chmodSync } from 'node:fs'

/**
 * End-to-end tests spawn the built CLI, so build it once before any test runs, the way
 * `npm run build` does (tsc, then the executable bit the shebang needs).
 */
export default function setup(): void {
  // hive's default DHT is the public one; nothing a test starts may reach it (test/helpers/hive.ts).
  process.env.HIVE_DHT_BOOTSTRAP ??= 'none'
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' })
  chmodSync('dist/cli.js', 0o755)
}
