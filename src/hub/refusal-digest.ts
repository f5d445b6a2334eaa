/** Why the hub turned a connection away, as the digest groups them. */
export type RefusalKind = 'token' | 'protocol' | 'violation' | 'full' | 'crowded' | 'trust'

export interface Refusal {
  kind: RefusalKind
  peer: string
  peerId: string
  address: string
  reason: string
}

export interface RefusalSummary {
  kind: RefusalKind
  /** The source host, without its port. */
  host: string
  count: number
  windowMs: number
}

/** Sources tracked at once; beyond that, refusals from new sources share one entry. */
const MAX_SOURCES = 1024
const OTHER_SOURCES = 'other sources'

function hostOf(address: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(address) ?? /^(.*):\d+$/.exec(address)
  return m ? m[1]! : address
}

/**
 * Keeps a flood of refusals from flooding the operator's terminal: the first refusal of a
 * kind from a host is reported at once, the rest within the window are only counted, and a
 * summary says how many there were when the window ends. A host that keeps at it gets one
 * summary per window.
 */
export class RefusalDigest {
  private readonly windows = new Map<string, { kind: RefusalKind; host: string; count: number; started: number; timer: NodeJS.Timeout }>()

  constructor(
    private readonly windowMs: number,
    private readonly report: (refusal: Refusal) => void,
    private readonly summarize: (summary: RefusalSummary) => void,
  ) {}

  refused(refusal: Refusal): void {
    let host = hostOf(refusal.address)
    if (this.windows.size >= MAX_SOURCES && !this.windows.has(`${refusal.kind} ${host}`)) host = OTHER_SOURCES
    const key = `${refusal.kind} ${host}`
    const open = this.windows.get(key)
    if (open) {
      open.count++
      return
    }
    this.report(refusal)
    this.open(key, refusal.kind, host)
  }

  private open(key: string, kind: RefusalKind, host: string): void {
    const timer = setTimeout(() => {
      const window = this.windows.get(key)!
      this.windows.delete(key)
      if (window.count === 0) return
      this.summarize({ kind, host, count: window.count, windowMs: this.windowMs })
      // Still at it: keep counting in a fresh window rather than reporting one by one again.
      this.open(key, kind, host)
    }, this.windowMs)
    timer.unref()
    this.windows.set(key, { kind, host, count: 0, started: Date.now(), timer })
  }

  /** Reports what is still counted, and stops. */
  flush(): void {
    for (const window of this.windows.values()) {
      clearTimeout(window.timer)
      if (window.count > 0) this.summarize({ kind: window.kind, host: window.host, count: window.count, windowMs: Date.now() - window.started })
    }
    this.windows.clear()
  }
}
