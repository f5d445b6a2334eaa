import type { Logger } from 'pino'
import { Refusal } from './budget.js'
import { optionalString, parseFrame, requiredString, type ClientMessage } from './inbound.js'
import type { Listener, Mailbox, StoredMessage } from './mailbox.js'
import type { MailboxStore } from './store.js'

/**
 * One client connection's side of the protocol (PROTOCOL.md §2-3), apart from the socket: it
 * reads text frames and writes text frames. The once-per-connection rules and the error words
 * follow Debian's server 0.4.1, because the stock clients were written against it.
 */
export class Session implements Listener {
  private appid: string | null = null
  private side: string | null = null
  private didAllocate = false
  private didClaim = false
  private didRelease = false
  private didClose = false
  /** Claimed on this connection; `release` without a nameplate means this one. */
  private nameplate: string | null = null
  /** Opened on this connection; `close` without a mailbox means this one. */
  private mailboxId: string | null = null
  /** Subscribed to, until `close` or the end of the connection. */
  private mailbox: Mailbox | null = null

  constructor(
    private readonly store: MailboxStore,
    private readonly write: (text: string) => void,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The first frame; Debian's 0.4.1 server sends an empty welcome, and so does this one. */
  welcome(extra: { error?: string } = {}): void {
    this.send('welcome', { welcome: extra })
  }

  /** One text frame from the client: an ack, then the answer or an error. */
  receive(text: string): void {
    const parsed = parseFrame(text, this.store.limits.maxIdChars)
    if (!parsed.ok) return this.send('error', { error: parsed.error, orig: parsed.orig })
    const { message } = parsed
    this.send('ack', { id: message.id })
    try {
      this.dispatch(message, this.clock())
    } catch (err) {
      if (!(err instanceof Refusal)) throw err
      this.log.debug({ type: message.type, error: err.explain }, 'request refused')
      this.send('error', { error: err.explain, orig: message.fields })
    }
  }

  /** An error about the connection rather than a request (a binary frame): there is no `orig`. */
  refuse(explain: string): void {
    this.send('error', { error: explain, orig: null })
  }

  deliver(message: StoredMessage): void {
    this.send('message', { side: message.side, phase: message.phase, body: message.body, server_rx: message.receivedAt / 1000, id: message.id })
  }

  /** The connection is gone. Its claims and its side stay: the client may come back on a new one. */
  end(): void {
    this.mailbox?.unsubscribe(this)
    this.mailbox = null
  }

  private dispatch(message: ClientMessage, now: number): void {
    if (message.type === 'ping') return this.ping(message)
    if (message.type === 'bind') return this.bind(message)
    if (this.appid === null || this.side === null) throw new Refusal('must bind first')
    const [appid, side] = [this.appid, this.side]
    const max = this.store.limits.maxIdChars
    switch (message.type) {
      case 'list': {
        const nameplates = this.store.within(appid, (app) => app.list())
        return this.send('nameplates', { nameplates: nameplates.map((id) => ({ id })) })
      }
      case 'allocate': {
        if (this.didAllocate) throw new Refusal("you already allocated one, don't be greedy")
        const nameplate = this.store.within(appid, (app) => app.allocate(side, now))
        this.didAllocate = true
        return this.send('allocated', { nameplate })
      }
      case 'claim': {
        const name = requiredString(message, 'nameplate', "claim requires 'nameplate'", max)
        if (this.didClaim) throw new Refusal('only one claim per connection')
        // Spent even if the claim fails, as in Debian's server: a crowded client starts over.
        this.didClaim = true
        this.nameplate = name
        const mailbox = this.store.within(appid, (app) => app.claim(name, side, now))
        return this.send('claimed', { mailbox })
      }
      case 'release': {
        if (this.didRelease) throw new Refusal('only one release per connection')
        const named = optionalString(message, 'nameplate', max)
        if (named !== null && this.nameplate !== null && named !== this.nameplate) throw new Refusal('release and claim must use same nameplate')
        const name = named ?? this.nameplate
        if (name === null) throw new Refusal('release without nameplate must follow claim')
        this.didRelease = true
        this.store.within(appid, (app) => app.release(name, side, now))
        return this.send('released')
      }
      case 'open':
        return this.open(message, appid, side, now)
      case 'add':
        return this.add(message, side, now)
      case 'close':
        return this.close(message, appid, side, now)
      default:
        throw new Refusal('unknown type')
    }
  }

  private ping(message: ClientMessage): void {
    const ping = message.fields.ping
    if (ping === undefined) throw new Refusal("ping requires 'ping'")
    if (typeof ping !== 'number') throw new Refusal("'ping' must be a number")
    this.send('pong', { pong: ping })
  }

  private bind(message: ClientMessage): void {
    if (this.appid !== null || this.side !== null) throw new Refusal('already bound')
    const max = this.store.limits.maxIdChars
    const appid = requiredString(message, 'appid', "bind requires 'appid'", max)
    const side = requiredString(message, 'side', "bind requires 'side'", max)
    ;[this.appid, this.side] = [appid, side]
  }

  private open(message: ClientMessage, appid: string, side: string, now: number): void {
    if (this.mailbox) throw new Refusal('only one open per connection')
    const id = requiredString(message, 'mailbox', "open requires 'mailbox'", this.store.limits.maxIdChars)
    this.mailboxId = id
    const mailbox = this.store.within(appid, (app) => app.open(id, side, now))
    const earlier = mailbox.subscribe(this)
    this.mailbox = mailbox
    for (const stored of earlier) this.deliver(stored)
  }

  private add(message: ClientMessage, side: string, now: number): void {
    if (!this.mailbox) throw new Refusal('must open mailbox before adding')
    const phase = requiredString(message, 'phase', "missing 'phase'", this.store.limits.maxIdChars)
    const body = message.fields.body
    if (body === undefined || body === null) throw new Refusal("missing 'body'")
    if (typeof body !== 'string') throw new Refusal("'body' must be a string")
    const max = this.store.limits.maxBodyChars
    if (body.length > max) throw new Refusal(`message too large: 'body' has ${body.length} characters, at most ${max} are stored`)
    this.mailbox.add({ side, phase, body, id: message.id, receivedAt: now })
  }

  private close(message: ClientMessage, appid: string, side: string, now: number): void {
    if (this.didClose) throw new Refusal('only one close per connection')
    const max = this.store.limits.maxIdChars
    const named = optionalString(message, 'mailbox', max)
    if (named !== null && this.mailboxId !== null && named !== this.mailboxId) throw new Refusal('open and close must use same mailbox')
    const id = named ?? this.mailboxId
    if (id === null) throw new Refusal('close without mailbox must follow open')
    const mood = optionalString(message, 'mood', max)
    this.didClose = true
    this.mailbox?.unsubscribe(this)
    this.mailbox = null
    const moods = this.store.within(appid, (app) => app.close(id, side, mood, now))
    if (moods) this.log.debug({ moods }, 'mailbox closed by both sides')
    this.send('closed')
  }

  /**
   * Every server message carries `server_tx`. An `orig` too deeply nested to encode again
   * (JSON.stringify recurses) is cut down to its type, rather than failing the connection.
   */
  private send(type: string, fields: Record<string, unknown> = {}): void {
    const message = { type, ...fields, server_tx: this.clock() / 1000 }
    let text: string
    try {
      text = JSON.stringify(message)
    } catch {
      const orig = fields.orig as { type?: unknown } | null | undefined
      text = JSON.stringify({ ...message, orig: typeof orig?.type === 'string' ? { type: orig.type } : null })
    }
    this.write(text)
  }
}
