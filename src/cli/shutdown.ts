/**
 * Ctrl+C and SIGTERM ask for a clean stop; a second signal, or a stop that overruns
 * `graceMs`, ends the process anyway so a stuck close never keeps a terminal hostage.
 */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => Promise<void>, exit: (status: number) => void, graceMs = 1800): void {
  let stopping = false
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return exit(130)
    stopping = true
    setTimeout(() => exit(0), graceMs).unref()
    stop(signal).then(
      () => exit(0),
      () => exit(0),
    )
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
}
