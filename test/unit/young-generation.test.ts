import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

/**
 * The flag has to take effect in a process already running, on each Node that CI runs; so a
 * fresh process (vitest's own heap has grown long ago) makes garbage the way a busy forwarder
 * does and reports how large its young generation became, with and without the call.
 */
async function newSpaceMiB(callIt: boolean): Promise<number> {
  const module = pathToFileURL(resolve('build/cli/young-generation.js')).href
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8'
    import { keepYoungGenerationSmall } from '${module}'
    if (${callIt}) keepYoungGenerationSmall()
    let keep = []
    for (let i = 0; i < 3e6; i++) { keep.push({ i }); if (keep.length > 1e5) keep = [] }
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
    process.stdout.write(String(space.space_size / 2 ** 20))
  `
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script])
  return Number(stdout)
}

describe('keepYoungGenerationSmall', () => {
  it('stops the young generation from growing under a stream of short-lived garbage', async () => {
    const [grown, kept] = await Promise.all([newSpaceMiB(false), newSpaceMiB(true)])
    expect(grown).toBeGreaterThanOrEqual(16)
    expect(kept).toBeLessThanOrEqual(8)
  })
})
