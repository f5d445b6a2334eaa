import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type Gc = (options?: { type?: 'minor' | 'major' }) => void

/**
 * A closed QUIC connection keeps its native state (quinn's per-stream tables, TLS, buffers:
 * 50 to 370 KiB each) until V8 collects its small JavaScript wrapper, and V8, which does not
 * see that memory, has no reason to hurry. A burst of 2000 connections closed by the hub's
 * caps held 700 MiB this way, and 13 to 43 MiB when a collection followed the closes
 * (measured; README.md, "Limits"). So closes schedule one: a minor collection shortly after, and a
 * full one at most once a second while closes go on, and once after they stop.
 */
const MINOR_AFTER_MS = 50
const FULL_EVERY_MS = 1000

let gc: Gc | null | undefined
let minorTimer: NodeJS.Timeout | null = null
let fullTimer: NodeJS.Timeout | null = null
let lastFull = 0
let closesSinceFull = 0

function collector(): Gc | null {
  if (gc !== undefined) return gc
  try {
    const exposed = (globalThis as { gc?: Gc }).gc
    if (typeof exposed === 'function') return (gc = exposed)
    setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc') as Gc
  } catch {
    gc = null
  }
  return gc
}

function full(): void {
  lastFull = Date.now()
  closesSinceFull = 0
  collector()?.()
}

/** Called for every closed connection; cheap, and never blocks the caller. */
export function releaseClosedConnections(): void {
  closesSinceFull++
  if (minorTimer) return
  minorTimer = setTimeout(() => {
    minorTimer = null
    collector()?.({ type: 'minor' })
    if (Date.now() - lastFull >= FULL_EVERY_MS) return full()
    fullTimer ??= setTimeout(() => {
      fullTimer = null
      if (closesSinceFull > 0) full()
    }, FULL_EVERY_MS)
    fullTimer.unref()
  }, MINOR_AFTER_MS)
  minorTimer.unref()
}
