import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { HiveError, isHiveError } from '../errors.js'
import { chooseWords, makeCode, parseCode } from './code.js'
import { codePassword, derivePhaseKey, deriveVerifier, openBox, sealBox } from './crypto.js'
import { MailboxConnection } from './mailbox.js'
import type { MailboxMessage } from './messages.js'
import { spake2Keys, spake2Start, Spake2Error, type Spake2Keys, type Spake2State } from './spake2.js'
import { printable } from '../printable.js'

/** The app id of the stock CLIs' text and file transfer, so they can talk to us. */
export const TEXT_APPID = 'lothar.com/wormhole/text-or-file-xfer'
/** `details.reason` of the TIMEOUT raised when the other side's PAKE is there but it never confirms the key. */
export const STALE_PEER = 'stale-peer'
/** The public mailbox server that the stock clients use by default. */
export { PUBLIC_MAILBOX } from './public-mailbox.js'
export type Mood = 'happy' | 'lonely' | 'scary' | 'errory'

const STEP_MS = 30_000
/**
 * When wormhole-william's SPAKE2 would derive another key (one exchange in 256, spake2.ts), a
 * receiver waits this long to hear the other side's version before sending its own: a stock
 * sender sends its version at once, a hive sender waits for ours.
 */
const VERSION_FIRST_MS = 1500
const NOT_YET = 'not-yet'
/** The phases a text exchange uses: the rest are never stored. */
const KEPT_PHASES = /^(pake|version|[0-9])$/
/** How long closing may take in all: it must fit in the CLI's 1.8 s grace after Ctrl+C. */
const CLOSE_MS = 1000
const text = new TextEncoder()
const PakeBodySchema = z.looseObject({ pake_v1: z.string().regex(/^[0-9a-f]{66}$/i) })
const TransferSchema = z.looseObject({
  offer: z.looseObject({ message: z.string().optional() }).optional(),
  answer: z.looseObject({ message_ack: z.string().optional() }).optional(),
  error: z.string().optional(),
})

export interface WormholeOptions {
  relayUrl: string
  appid?: string
  connectTimeoutMs?: number
  signal?: AbortSignal
  onMotd?: (motd: string) => void
  /** 64 bytes that fix the SPAKE2 secret, for tests that need one exchange in particular. */
  entropy?: Uint8Array
}

function wrongCode(code: string): HiveError {
  return new HiveError('WRONG_CODE', `key confirmation failed for code ${code}: it was mistyped, or someone tried to guess it`, { code })
}

function decodeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return undefined
  }
}

/**
 * One two-party Magic Wormhole exchange of a text: connect, get or set a code, run SPAKE2,
 * confirm the key with the version phase, then the text offer and its answer. A code
 * serves exactly one exchange; a new code needs a new Wormhole.
 */
export class Wormhole {
  readonly side = randomBytes(5).toString('hex')
  code: string | null = null
  /** Known once the key is confirmed; users may compare it out of band. */
  verifier: Uint8Array | null = null
  private nameplate: string | null = null
  private mailbox: string | null = null
  private pake: Spake2State | null = null
  private key: Uint8Array | null = null
  private released = false
  private closed = false
  private readonly peerPhases = new Map<string, MailboxMessage>()
  private peerSide: string | null = null
  private nextOutboundPhase = 0

  private constructor(
    private readonly conn: MailboxConnection,
    private readonly appid: string,
    private readonly entropy?: Uint8Array,
  ) {}

  static async open(options: WormholeOptions): Promise<Wormhole> {
    const appid = options.appid ?? TEXT_APPID
    const conn = await MailboxConnection.connect(options.relayUrl, {
      timeoutMs: options.connectTimeoutMs ?? 10_000,
      signal: options.signal,
      onMotd: options.onMotd,
    })
    const wormhole = new Wormhole(conn, appid, options.entropy)
    conn.send('bind', { appid, side: wormhole.side, client_version: ['hive', '0.1.0'] })
    return wormhole
  }

  /** Asks the server for a nameplate and makes a code of it with `words` random words. */
  async allocateCode(words: number): Promise<string> {
    const { nameplate } = await this.conn.request('allocate', {}, 'allocated', STEP_MS)
    await this.start(makeCode(nameplate, chooseWords(words)), nameplate)
    return this.code!
  }

  /** Uses a code typed by the user (the nameplate is claimed; the words are the password). */
  async useCode(code: string): Promise<void> {
    const parsed = parseCode(code)
    if (!parsed.ok) throw new HiveError('USAGE', `"${code}" is not a wormhole code: ${parsed.reason}`)
    await this.start(code, parsed.nameplate)
  }

  private async start(code: string, nameplate: string): Promise<void> {
    this.code = code
    this.nameplate = nameplate
    const { mailbox } = await this.conn.request('claim', { nameplate }, 'claimed', STEP_MS)
    this.mailbox = mailbox
    this.conn.send('open', { mailbox })
    const { state, message } = spake2Start(codePassword(code), this.entropy)
    this.pake = state
    this.add('pake', text.encode(JSON.stringify({ pake_v1: Buffer.from(message).toString('hex') })))
  }

  private add(phase: string, body: Uint8Array): void {
    this.conn.send('add', { phase, body: Buffer.from(body).toString('hex') })
  }

  /**
   * The peer's message for `phase`, waiting up to `timeoutMs`. Our own echoes are skipped. The
   * peer is the first other side to speak, and it must speak its PAKE first: anything else is
   * someone meddling with the mailbox, and ends the exchange at once rather than leaving a
   * code shown that can no longer work. Only the phases an exchange uses are kept, once each.
   */
  private async peerMessage(phase: string, timeoutMs: number, onTimeout: () => HiveError): Promise<MailboxMessage> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const have = this.peerPhases.get(phase)
      if (have) return have
      const message = await this.conn.nextMessage(Math.max(1, deadline - Date.now()), onTimeout)
      if (message.side === this.side) continue
      if (this.peerSide === null) {
        if (message.phase !== 'pake') {
          throw new HiveError('PROTOCOL_VIOLATION', `the mailbox of code ${this.code} got a "${printable(message.phase, 20)}" message where the other side's key exchange belongs (someone meddling?)`)
        }
        this.peerSide = message.side
        if (!this.released && this.nameplate !== null) {
          // The peer is here: free the nameplate so the number can serve someone else.
          this.released = true
          this.conn.send('release', { nameplate: this.nameplate })
        }
      }
      if (message.side !== this.peerSide || !KEPT_PHASES.test(message.phase)) continue
      if (!this.peerPhases.has(message.phase)) this.peerPhases.set(message.phase, message)
    }
  }

  /**
   * Waits for the peer's PAKE message (up to `waitMs`: this is where a code sits unused),
   * derives the key, and confirms it with the version phase.
   *
   * In the one exchange in 256 where wormhole-william (gospake2) derives another key than
   * python-spake2, the other side's version comes first: every stock client sends it as soon
   * as it has a key, and the key that opens it is the one both sides then use. A receiver
   * waits only VERSION_FIRST_MS for it, so two hives, where the sender waits, still meet.
   */
  private async confirmKey(waitMs: number, onLonely: () => HiveError, role: 'sender' | 'receiver'): Promise<void> {
    const started = Date.now()
    const pake = await this.peerMessage('pake', waitMs, onLonely)
    const body = PakeBodySchema.safeParse(decodeJson(Buffer.from(pake.body, 'hex')))
    if (!body.success) throw wrongCode(this.code!)
    let keys: Spake2Keys
    try {
      keys = spake2Keys(this.pake!, Buffer.from(body.data.pake_v1, 'hex'), text.encode(this.appid))
    } catch (err) {
      if (err instanceof Spake2Error) throw new HiveError('WRONG_CODE', `the other side sent a bad key exchange message (${err.message})`)
      throw err
    }
    // A PAKE left by a client that has since quit is answered by nobody: bound that wait too.
    const versionWaitMs = Math.max(1000, Math.min(STEP_MS, waitMs - (Date.now() - started)))
    const stale = (): HiveError => new HiveError('TIMEOUT', `the other side of code ${this.code} stopped answering`, { reason: STALE_PEER })
    let version: MailboxMessage | null = null
    if (keys.gospake2Key) {
      const firstMs = role === 'sender' ? versionWaitMs : Math.min(versionWaitMs, VERSION_FIRST_MS)
      const notYet = (): HiveError => new HiveError('TIMEOUT', 'no version yet', { reason: NOT_YET })
      version = await this.peerMessage('version', firstMs, role === 'sender' ? stale : notYet).catch((err: unknown) => {
        if (isHiveError(err, 'TIMEOUT') && err.details.reason === NOT_YET) return null
        throw err
      })
    }
    // A version that no key opens is a wrong code. Ours still goes out, so that the other side,
    // perhaps waiting for it, learns so at once rather than when its wait runs out.
    this.key = (version === null ? null : this.keyOpening(version, keys)) ?? keys.key
    this.add('version', sealBox(derivePhaseKey(this.key, this.side, 'version'), text.encode(JSON.stringify({ app_versions: {} }))))
    version ??= await this.peerMessage('version', versionWaitMs, stale)
    if (this.decrypt(version) === null) throw wrongCode(this.code!)
    this.verifier = deriveVerifier(this.key)
  }

  /** Of the keys the exchange may have ended with, the one that opens the other side's version; null for none. */
  private keyOpening(version: MailboxMessage, keys: Spake2Keys): Uint8Array | null {
    const box = Buffer.from(version.body, 'hex')
    for (const key of [keys.key, keys.gospake2Key]) {
      if (key && openBox(derivePhaseKey(key, version.side, version.phase), box) !== null) return key
    }
    return null
  }

  private decrypt(message: MailboxMessage): Uint8Array | null {
    return openBox(derivePhaseKey(this.key!, message.side, message.phase), Buffer.from(message.body, 'hex'))
  }

  private sendApp(value: unknown): void {
    const phase = String(this.nextOutboundPhase++)
    this.add(phase, sealBox(derivePhaseKey(this.key!, this.side, phase), text.encode(JSON.stringify(value))))
  }

  private async receiveApp(phase: string): Promise<z.infer<typeof TransferSchema>> {
    const message = await this.peerMessage(phase, STEP_MS, () => new HiveError('TIMEOUT', `the other side sent nothing for phase ${phase}`))
    const plain = this.decrypt(message)
    if (plain === null) throw wrongCode(this.code!)
    const parsed = TransferSchema.safeParse(decodeJson(plain))
    if (!parsed.success) throw new HiveError('PROTOCOL_VIOLATION', 'the other side sent a message that is not a text transfer')
    if (parsed.data.error !== undefined) throw new HiveError('PROTOCOL_VIOLATION', `the other side gave up: ${printable(parsed.data.error)}`)
    return parsed.data
  }

  /** The sending side: offer `message`, wait for the answer. `waitMs` bounds the wait for a peer. */
  async sendText(message: string, waitMs: number, onLonely: () => HiveError): Promise<void> {
    try {
      await this.confirmKey(waitMs, onLonely, 'sender')
      this.sendApp({ offer: { message } })
      const answer = await this.receiveApp('0')
      if (answer.answer?.message_ack !== 'ok') throw new HiveError('PROTOCOL_VIOLATION', 'the other side did not accept the text')
      await this.close('happy')
    } catch (err) {
      await this.close(moodFor(err))
      throw err
    }
  }

  /** The receiving side: wait for the offer and acknowledge it. */
  async receiveText(waitMs: number, onLonely: () => HiveError): Promise<string> {
    try {
      await this.confirmKey(waitMs, onLonely, 'receiver')
      const offer = await this.receiveApp('0')
      if (offer.offer?.message === undefined) {
        this.sendApp({ error: 'hive accepts only a text message' })
        throw new HiveError('PROTOCOL_VIOLATION', 'the other side offered a file, not a text')
      }
      this.sendApp({ answer: { message_ack: 'ok' } })
      await this.close('happy')
      return offer.offer.message
    } catch (err) {
      await this.close(moodFor(err))
      throw err
    }
  }

  /**
   * Releases the nameplate, closes the mailbox with `mood`, and closes the socket. Both
   * requests go out at once and share one short deadline, so that a hub stopped with Ctrl+C
   * frees its nameplate within the CLI's grace period.
   */
  async close(mood: Mood): Promise<void> {
    if (this.closed) return
    this.closed = true
    const replies: Promise<unknown>[] = []
    try {
      if (!this.released && this.nameplate !== null) {
        this.released = true
        replies.push(this.conn.request('release', { nameplate: this.nameplate }, 'released', CLOSE_MS))
      }
      if (this.mailbox !== null) replies.push(this.conn.request('close', { mailbox: this.mailbox, mood }, 'closed', CLOSE_MS))
    } catch {
      // The server is gone: nothing to release.
    }
    await Promise.allSettled(replies)
    this.conn.close()
  }
}

function moodFor(err: unknown): Mood {
  if (err instanceof HiveError) {
    if (err.code === 'WRONG_CODE') return 'scary'
    if (err.code === 'TIMEOUT' || err.code === 'JOIN_TIMEOUT' || err.code === 'ABORTED') return 'lonely'
  }
  return 'errory'
}
