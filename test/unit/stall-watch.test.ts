import { afterEach, describe, expect, it } from 'vitest'
import { StallWatch } from '../../src/stall-watch.js'

const hold = (ms: number): void => {
  const until = performance.now() + ms
  while (performance.now() < until);
}
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5))

describe('StallWatch', () => {
  const watch = new StallWatch()
  afterEach(() => watch.stop())

  it('sees a pause of this process, while it lasts and just after', async () => {
    watch.watchFor(5_000)
    await tick()
    const before = performance.now()
    hold(40)
    const during = before + 20
    // Still standing still: the ticker has not run since.
    expect(watch.pausedAt(during)).toBeGreaterThanOrEqual(40)
    await tick()
    // Recorded once the ticker ran again.
    expect(watch.pausedAt(during)).toBeGreaterThanOrEqual(40)
  })

  it('says nothing about times it was not watching', async () => {
    const before = performance.now()
    hold(40)
    await tick()
    expect(watch.pausedAt(before + 20)).toBe(0)
    watch.watchFor(5_000)
    expect(watch.pausedAt(before + 20)).toBe(0)
  })

  it('stops on its own once the time asked for is over', async () => {
    watch.watchFor(10)
    await new Promise((r) => setTimeout(r, 60))
    const before = performance.now()
    hold(30)
    await tick()
    expect(watch.pausedAt(before + 15)).toBe(0)
  })
})
