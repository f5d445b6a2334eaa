import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { HiveError } from '../errors.js'
import type { HostPort } from '../protocol/address.js'
import { formatHostPort } from '../protocol/address.js'
import { printable } from '../printable.js'
import { bothInForeground } from './foreground.js'

/** How long a command told to stop (the tunnel ended first) gets before it is killed. */
const STOP_GRACE_MS = 5_000

export interface ChildCommand {
  /** Resolves with its exit status: its code, or 128 + the signal's number. */
  exited: Promise<number>
  kill(signal: NodeJS.Signals): void
  /** Passes on a signal hive got, except a Ctrl+C that the terminal has already sent CMD itself. */
  forward(signal: NodeJS.Signals): void
  /** SIGTERM, then SIGKILL if it is still running after a few seconds; resolves when it is gone. */
  stop(): Promise<number>
}

/**
 * The command after `--`, once the tunnel is up. It inherits stdin, stdout and stderr, so it
 * is used as if run directly. One that cannot be started at all is exit 127, as in a shell.
 */
export async function startChild(command: readonly string[], env: Record<string, string>): Promise<ChildCommand> {
  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } })
  const started = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? 'command not found' : err.code === 'EACCES' ? 'permission denied' : err.message
      reject(new HiveError('COMMAND_FAILED', `cannot run \`${printable(command[0]!, 80)}\`: ${why}`))
    })
  })
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)))
  })
  await started
  const kill = (signal: NodeJS.Signals): void => void child.kill(signal)
  return {
    exited,
    kill,
    forward(signal) {
      // Run directly, CMD would get one SIGINT per Ctrl+C; a second one makes many programs
      // (test runners, servers) skip their cleanup.
      if (signal === 'SIGINT' && child.pid !== undefined && bothInForeground(child.pid)) return
      kill(signal)
    },
    async stop() {
      kill('SIGTERM')
      const timer = setTimeout(() => kill('SIGKILL'), STOP_GRACE_MS)
      const status = await exited
      clearTimeout(timer)
      return status
    },
  }
}

/** `HIVE_<SERVICE>_ADDR` and `HIVE_<SERVICE>_URL` for each exposed service; other characters than letters and digits become `_`. */
export function serviceEnv(services: Readonly<Record<string, HostPort>>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, at] of Object.entries(services)) {
    const key = name.toUpperCase().replace(/[^A-Z0-9]/g, '_')
    const address = formatHostPort(at)
    env[`HIVE_${key}_ADDR`] = address
    env[`HIVE_${key}_URL`] = `${name === 'websocket' ? 'ws' : 'http'}://${address}`
  }
  return env
}

/** The operands after `--` on the command line: the command to run, if any. */
export function commandAfterDashes(argv: readonly string[], operands: readonly string[]): string[] {
  const at = argv.indexOf('--')
  if (at < 0) return []
  const count = argv.length - at - 1
  return count > 0 ? operands.slice(operands.length - count) : []
}
