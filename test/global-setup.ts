import { execFileSync } from 'node:child_process'
import { bundle } from '../scripts/bundle.mjs'

/**
 * End-to-end tests spawn the built CLI, so build it once before any test runs, the way
 * `npm run build` does (tsc into build/, then the bundle in dist/).
 */
export default async function setup(): Promise<void> {
  // hive's default DHT is the public one; nothing a test starts may reach it (test/helpers/hive.ts).
  process.env.HIVE_DHT_BOOTSTRAP ??= 'none'
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' })
  await bundle()
}
