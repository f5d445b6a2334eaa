import type { ServiceTraffic } from '../link/traffic.js'
import type { Reporter } from './reporter.js'

/** What the live line and `stats` events show: a hub's peers, or whether a peer's link is up. */
export type StatsSnapshot = ServiceTraffic & { services: Record<string, ServiceTraffic> } & ({ peers: number } | { linked: boolean })

const TICK_MS = 1_000

/** 1234567 -> "1.2 MB". */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let i = 0
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000
    i++
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

/** The live line: who is there, what is open, and what has moved (with the rate over the last second). */
export function liveLine(s: StatsSnapshot, rateIn: number, rateOut: number): string {
  const who = 'peers' in s ? `${s.peers} peer${s.peers === 1 ? '' : 's'}` : s.linked ? 'linked to the hub' : 'waiting for the hub'
  const open = `${s.streams} open connection${s.streams === 1 ? '' : 's'}`
  return `${who} · ${open} · in ${formatBytes(s.bytesIn)} (${formatBytes(rateIn)}/s) · out ${formatBytes(s.bytesOut)} (${formatBytes(rateOut)}/s)`
}

/**
 * Keeps the live line up to date every second on a terminal, and with --json sends a `stats`
 * event every `intervalS` seconds (0: none). No live line while a command hive runs shares
 * the terminal (`withCommand`). Returns the call that stops both.
 */
export function watchStats(reporter: Reporter, json: boolean, intervalS: number, snapshot: () => StatsSnapshot, withCommand = false): () => void {
  const live = reporter.liveView && !withCommand
  const events = json && intervalS > 0
  if (!live && !events) return () => undefined
  let last = snapshot()
  let lastAt = performance.now()
  let lastEvent = { ...last, at: lastAt }
  const ticker = setInterval(() => {
    const now = performance.now()
    const s = snapshot()
    if (live) {
      const seconds = (now - lastAt) / 1000
      reporter.live(liveLine(s, (s.bytesIn - last.bytesIn) / seconds, (s.bytesOut - last.bytesOut) / seconds))
    }
    last = s
    lastAt = now
    if (events && now - lastEvent.at >= intervalS * 1000 - TICK_MS / 2) {
      const seconds = (now - lastEvent.at) / 1000
      const services = Object.fromEntries(Object.entries(s.services).map(([name, t]) => [name, { streams: t.streams, bytes_in: t.bytesIn, bytes_out: t.bytesOut }]))
      const who = 'peers' in s ? { peers: s.peers } : { linked: s.linked }
      reporter.event('stats', {
        ...who,
        streams: s.streams,
        bytes_in: s.bytesIn,
        bytes_out: s.bytesOut,
        rate_in: Math.round((s.bytesIn - lastEvent.bytesIn) / seconds),
        rate_out: Math.round((s.bytesOut - lastEvent.bytesOut) / seconds),
        services,
      })
      lastEvent = { ...s, at: now }
    }
  }, TICK_MS)
  ticker.unref()
  return () => {
    clearInterval(ticker)
    reporter.live('')
  }
}
