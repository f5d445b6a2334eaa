import { pino, type Logger } from 'pino'

const LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const

/** Diagnostics go to stderr as pino JSON; -v..-vvvv raise the level, -q silences them. */
export function createLogger(verbosity: number, quiet: boolean): Logger {
  const level = quiet ? 'silent' : LEVELS[Math.min(verbosity, LEVELS.length - 1)]!
  return pino({ level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }))
}
