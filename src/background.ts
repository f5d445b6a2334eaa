import type { Logger } from 'pino'
import { errorMessage } from './errors.js'

/**
 * Starts work nobody awaits. Its failure is logged, never left to reach the process as an
 * unhandled rejection: one bad event must not end every peer's session.
 */
export function detach(work: Promise<unknown>, log: Logger, what: string): void {
  work.catch((err: unknown) => log.error({ err: errorMessage(err) }, `${what} failed`))
}
