import { pino, type Logger } from 'pino'
import { sleep } from '../deadline.js'
import { HiveError, errorMessage, isHiveError } from '../errors.js'
import { Wormhole } from '../wormhole/wormhole.js'
import { nextDelay, type RetryPolicy } from '../retry.js'
import { SafeEmitter } from '../safe-emitter.js'
import { CODE_BACKOFF, codeBackoffMs, type CodeBackoff } from './code-backoff.js'

/** How the hub backs off while the mailbox is unreachable: plain data. */
export const DEFAULT_MAILBOX_RETRY: RetryPolicy = { initialMs: 1_000, maxMs: 30_000, factor: 2 }

export interface JoinCodeOptions {
  ticket: string
  relayUrl: string
  codeLength: number
  /** How long an unused code lives before it is closed as lonely and replaced. */
  ttlMs: number
  retry?: RetryPolicy
  /** The wait before a new code after failed exchanges in a row. */
  backoff?: CodeBackoff
  logger?: Logger
}

export interface JoinCodeEvents {
  code: [{ code: string }]
  joined: [{ code: string }]
  wrong_code: [{ code: string }]
  expired: [{ code: string }]
  failed: [{ code: string | null; message: string }]
  mailbox_down: [{ message: string; retryInMs: number }]
  /** After failed exchanges in a row, the next code waits this long. */
  backoff: [{ failures: number; waitMs: number }]
  motd: [{ motd: string }]
}

const EXPIRED = 'expired'

/**
 * Hands the hub's ticket to peers over Magic Wormhole, one code at a time. Every exchange,
 * whatever its outcome, ends that code and allocates a fresh one: a code is never reused
 * after a failed guess. After failed exchanges the next code waits, longer each time in a
 * row, which bounds guessing and burning codes. Mailbox trouble is retried with backoff and
 * never stops the hub.
 */
export class JoinCodeSharer extends SafeEmitter<JoinCodeEvents> {
  private readonly controller = new AbortController()
  private current: Wormhole | null = null
  private running: Promise<void> | null = null
  private readonly log: Logger

  constructor(private readonly options: JoinCodeOptions) {
    const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'join-codes' })
    super(log)
    this.log = log
  }

  start(): void {
    this.running ??= this.loop()
  }

  private get stopped(): boolean {
    return this.controller.signal.aborted
  }

  private async loop(): Promise<void> {
    const retry = this.options.retry ?? DEFAULT_MAILBOX_RETRY
    let mailboxDelay = retry.initialMs
    let failures = 0
    while (!this.stopped) {
      let code: string | null = null
      let wormhole: Wormhole | null = null
      let waitMs = 0
      try {
        wormhole = await Wormhole.open({
          relayUrl: this.options.relayUrl,
          signal: this.controller.signal,
          onMotd: (motd) => this.notify('motd', { motd }),
        })
        this.current = wormhole
        if (this.stopped) break
        code = await wormhole.allocateCode(this.options.codeLength)
        mailboxDelay = retry.initialMs
        this.notify('code', { code })
        await wormhole.sendText(this.options.ticket, this.options.ttlMs, () => new HiveError('TIMEOUT', 'the code expired unused', { reason: EXPIRED }))
        this.log.info({ code }, 'peer joined via code')
        failures = 0
        this.notify('joined', { code })
      } catch (err) {
        if (this.stopped) break
        if (isHiveError(err, 'TIMEOUT') && err.details.reason === EXPIRED && code) {
          this.log.info({ code }, 'code expired unused')
          this.notify('expired', { code })
        } else if (isHiveError(err, 'MAILBOX_UNREACHABLE') || (isHiveError(err, 'MAILBOX_ERROR') && code === null)) {
          this.log.warn({ err: errorMessage(err), retryInMs: mailboxDelay }, 'mailbox unavailable')
          this.notify('mailbox_down', { message: errorMessage(err), retryInMs: mailboxDelay })
          waitMs = mailboxDelay
          mailboxDelay = nextDelay(retry, mailboxDelay)
        } else {
          // A wrong code, junk in the mailbox, a crowded nameplate: every failed exchange waits.
          if (isHiveError(err, 'WRONG_CODE') && code) {
            this.log.warn({ code }, 'wrong code attempt (code discarded)')
            this.notify('wrong_code', { code })
          } else {
            this.log.warn({ code, err: errorMessage(err) }, 'code exchange failed')
            this.notify('failed', { code, message: errorMessage(err) })
          }
          failures++
          waitMs = codeBackoffMs(failures, this.options.backoff ?? CODE_BACKOFF)
          this.notify('backoff', { failures, waitMs })
        }
      } finally {
        // Whatever happened, this code's connection is done: none is held through a wait.
        await wormhole?.close('errory')
        this.current = null
      }
      if (waitMs > 0) await sleep(waitMs, this.controller.signal)
    }
  }

  /** Releases the live code's nameplate and closes its mailbox as lonely. */
  async stop(): Promise<void> {
    this.controller.abort()
    await this.current?.close('lonely')
    await this.running
  }
}
