import { describe, expect, it } from 'vitest'
import { useDefaultQuicThreads } from '../../src/transport/index.js'

describe('useDefaultQuicThreads', () => {
  it('leaves one core to the JavaScript thread, and never goes below one worker', () => {
    const counts = [1, 2, 8].map((cores) => {
      const env: NodeJS.ProcessEnv = {}
      useDefaultQuicThreads(env, cores)
      return env.TOKIO_WORKER_THREADS
    })
    expect(counts).toEqual(['1', '1', '7'])
  })

  it('keeps a count the environment already sets', () => {
    const env: NodeJS.ProcessEnv = { TOKIO_WORKER_THREADS: '3' }
    useDefaultQuicThreads(env, 8)
    expect(env.TOKIO_WORKER_THREADS).toBe('3')
  })
})
