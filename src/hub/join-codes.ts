import { EventEmitter } from 'node:events'
import { pino, type Logger } from 'pino'
import { sleep } from '../deadline.js'
import { HiveError, errorMessage, isHiveError } from '../errors.js'
import { Wormhole } from '../wormhole/wormhole.js'

/** How the hub backs off while the mailbox is unreachable: plain data. */
export interface RetryPolicy {
  initialMs: number
  maxMs: number
  factor: number
}
export const DEFAULT_MAILBOX_RETRY: RetryPolicy = { initialMs: 1_000, maxMs: 30_000, factor: 2 }

export interface JoinCodeOptions {
  ticket: string
  relayUrl: string
  codeLength: number
  /** How long an unused code lives before it is closed as lonely and replaced. */
  ttlMs: number
  retry?: RetryPolicy
  logger?: Logger
}

export interface JoinCodeEvents {
  code: [{ code: string }]
  joined: [{ code: string }]
  wrong_code: [{ code: string }]
  expired: [{ code: string }]
  failed: [{ code: string | null; message: string }]
  mailbox_down: [{ message: string; retryInMs: number }]
  motd: [{ motd: string }]
}

const EXPIRED = 'expired'

/**
 * Hands the hub's ticket to peers over Magic Wormhole, one code at a time. Every exchange,
 * whatever its outcome, ends that code and allocates a fresh one: a code is never reused
 * after a failed guess. Mailbox trouble is retried with backoff and never stops the hub.
 */
export class JoinCodeSharer extends EventEmitter<JoinCodeEvents> {
  private readonly controller = new AbortController()
  private current: Wormhole | null = null
  private running: Promise<void> | null = null
  private readonly log: Logger

  constructor(private readonly options: JoinCodeOptions) {
    super()
    this.log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'join-codes' })
  }

  start(): void {
    this.running ??= this.loop()
  }

  private get stopped(): boolean {
    return this.controller.signal.aborted
  }

  private async loop(): Promise<void> {
    const retry = this.options.retry ?? DEFAULT_MAILBOX_RETRY
    let delay = retry.initialMs
    while (!this.stopped) {
      let code: string | null = null
      try {
        const wormhole = await Wormhole.open({
          relayUrl: this.options.relayUrl,
          signal: this.controller.signal,
          onMotd: (motd) => this.emit('motd', { motd }),
        })
        this.current = wormhole
        if (this.stopped) break
        code = await wormhole.allocateCode(this.options.codeLength)
        delay = retry.initialMs
        this.emit('code', { code })
        await wormhole.sendText(this.options.ticket, this.options.ttlMs, () => new HiveError('TIMEOUT', 'the code expired unused', { reason: EXPIRED }))
        this.log.info({ code }, 'peer joined via code')
        this.emit('joined', { code })
      } catch (err) {
        if (this.stopped) break
        if (isHiveError(err, 'WRONG_CODE') && code) {
          this.log.warn({ code }, 'wrong code attempt (code discarded)')
          this.emit('wrong_code', { code })
        } else if (isHiveError(err, 'TIMEOUT') && err.details.reason === EXPIRED && code) {
          this.log.info({ code }, 'code expired unused')
          this.emit('expired', { code })
        } else if (isHiveError(err, 'MAILBOX_UNREACHABLE') || isHiveError(err, 'MAILBOX_ERROR')) {
          this.log.warn({ err: errorMessage(err), retryInMs: delay }, 'mailbox unavailable')
          this.emit('mailbox_down', { message: errorMessage(err), retryInMs: delay })
          await sleep(delay, this.controller.signal)
          delay = Math.min(delay * retry.factor, retry.maxMs)
        } else {
          this.log.warn({ code, err: errorMessage(err) }, 'code exchange failed')
          this.emit('failed', { code, message: errorMessage(err) })
        }
      } finally {
        this.current = null
      }
    }
  }

  /** Releases the live code's nameplate and closes its mailbox as lonely. */
  async stop(): Promise<void> {
    this.controller.abort()
    await this.current?.close('lonely')
    await this.running
  }
}
