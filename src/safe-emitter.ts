import { EventEmitter } from 'node:events'
import type { Logger } from 'pino'
import { errorMessage } from './errors.js'

/**
 * An event emitter that its listeners cannot hurt. A listener that throws would otherwise
 * unwind into whatever the library was doing when it emitted (a session, an accept loop)
 * and end it, or the process. Library code emits with `notify`, which logs such a failure
 * and carries on.
 */
export class SafeEmitter<T extends Record<keyof T, unknown[]>> extends EventEmitter<T> {
  constructor(protected readonly eventLog: Logger) {
    super()
  }

  protected notify<K extends keyof T & string>(event: K, ...args: T[K]): void {
    try {
      ;(this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args)
    } catch (err) {
      this.eventLog.error({ event, err: errorMessage(err) }, 'an event listener threw; carrying on')
    }
  }
}
