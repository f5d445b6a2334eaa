import { isatty } from 'node:tty'

/**
 * Ctrl+C, SIGTERM and SIGHUP. The handlers are installed once, before anything else runs, and never
 * removed: a signal that arrives between "ready" being printed and a handler being added
 * would otherwise get the default action (death), and a handler swapped for another can
 * drop a signal already in flight.
 *
 * While a command starts up, a signal cancels it (through `signal`); once it has set a stop
 * action, a signal stops cleanly and exits 0. A second signal, or a stop that overruns
 * `graceMs`, ends the process anyway, so a stuck close never keeps a terminal hostage.
 *
 * SIGHUP runs the command's reload action if it has one (a hub restarts in place), unless the
 * terminal hive started on has hung up (closed, or an ssh session dropped): then it stops as
 * Ctrl+C does, so nothing keeps sharing behind a terminal that is gone.
 */
export class ShutdownSignals {
  private readonly controller = new AbortController()
  private stopAction: ((signal: NodeJS.Signals) => Promise<void>) | null = null
  private forward: ((signal: NodeJS.Signals) => void) | null = null
  private reload: (() => void) | null = null
  private stopping = false
  // The descriptors that were a terminal at start: after a hangup they answer isatty() with false.
  private readonly terminals = [0, 1, 2].filter((fd) => isatty(fd))

  constructor(
    private readonly exit: (status: number) => void,
    private readonly graceMs = 1800,
  ) {}

  /** Aborted by a signal that arrives before the command has set its stop action. */
  get signal(): AbortSignal {
    return this.controller.signal
  }

  install(): void {
    process.on('SIGINT', this.handle)
    process.on('SIGTERM', this.handle)
    process.on('SIGHUP', this.hangup)
  }

  /** From now on SIGHUP runs `reload` instead of stopping, while the terminal is there. */
  onReload(reload: () => void): void {
    this.reload = reload
  }

  /** True once a terminal that hive started on has hung up. */
  terminalHungUp(): boolean {
    return this.terminals.some((fd) => !isatty(fd))
  }

  /** From now on a signal runs `stop` and exits 0. Set it before announcing readiness. */
  onStop(stop: (signal: NodeJS.Signals) => Promise<void>): void {
    this.stopAction = stop
  }

  /**
   * From now on every signal goes to a command hive runs (`-- CMD`), which decides when to
   * stop; hive ends when it exits. Signals are not counted: CMD may take its time.
   */
  forwardTo(forward: (signal: NodeJS.Signals) => void): void {
    this.forward = forward
  }

  private readonly hangup = (signal: NodeJS.Signals): void => {
    if (this.reload && !this.stopping && !this.terminalHungUp()) return this.reload()
    this.handle(signal)
  }

  private readonly handle = (signal: NodeJS.Signals): void => {
    if (this.forward) return this.forward(signal)
    if (this.stopping) return this.exit(130)
    this.stopping = true
    const stop = this.stopAction
    if (!stop) {
      // Still starting: cancel what is under way; the command then fails as ABORTED (130).
      this.controller.abort()
      setTimeout(() => this.exit(130), this.graceMs).unref()
      return
    }
    setTimeout(() => this.exit(0), this.graceMs).unref()
    stop(signal).then(
      () => this.exit(0),
      () => this.exit(0),
    )
  }
}
