import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end files spawn hubs and peers that bind ports and move hundreds of MB;
    // running them one at a time keeps the 2-core CI machine from starving them.
    fileParallelism: false,
    reporters: ['default'],
  },
})
