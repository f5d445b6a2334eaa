import { randomBytes } from 'node:crypto'
import { Agent, WebSocket } from 'undici'
import { HiveError } from '../errors.js'
import { withDeadline } from '../deadline.js'
import { MAX_FRAME_BYTES, parseServerMessage, readWelcome, type MailboxMessage, type ServerMessage, type ServerMessageType } from './messages.js'
import { printable } from '../printable.js'

interface Waiter {
  type: ServerMessageType
  resolve: (message: never) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

/** Mailbox messages queued unread, at most: an exchange needs a handful. */
const MAX_INBOX = 64

/** One dispatcher for every mailbox connection: it refuses any frame larger than an honest one. */
let dispatcher: Agent | undefined
function boundedDispatcher(): Agent {
  dispatcher ??= new Agent({ webSocket: { maxPayloadSize: MAX_FRAME_BYTES } })
  return dispatcher
}

function unreachable(url: string, why: string): HiveError {
  return new HiveError('MAILBOX_UNREACHABLE', `cannot reach the wormhole mailbox at ${url} (${why})`, { url })
}

/** A server error turned into what it means for a user. */
function serverError(url: string, error: string, origType: string | undefined): HiveError {
  if (error === 'crowded') {
    return new HiveError('CODE_CROWDED', 'that code is already in use by two others; ask the hub for its next code', { url })
  }
  return new HiveError('MAILBOX_ERROR', `the wormhole mailbox at ${url} said: ${printable(error)}${origType ? ` (to "${printable(origType, 40)}")` : ''}`, { url })
}

/**
 * One WebSocket to a Magic Wormhole mailbox server. Every inbound frame is validated;
 * every wait has a deadline. Mailbox `message`s are queued for the wormhole above.
 */
export class MailboxConnection {
  private readonly waiters: Waiter[] = []
  private readonly inbox: MailboxMessage[] = []
  private inboxWaiter: { resolve: (m: MailboxMessage) => void; reject: (e: Error) => void } | null = null
  private failure: HiveError | null = null

  private constructor(
    private readonly ws: WebSocket,
    readonly url: string,
  ) {
    ws.addEventListener('message', (event) => {
      // A connection that failed (or was closed) reads nothing more, whatever is still in flight.
      if (this.failure) return
      // Nothing a server sends may end the process: a frame that cannot be handled ends this connection.
      try {
        this.onFrame(event.data)
      } catch (err) {
        this.fail(new HiveError('MAILBOX_ERROR', `the wormhole mailbox at ${url} sent what hive cannot handle (${(err as Error).message})`, { url }))
        this.close()
      }
    })
    ws.addEventListener('close', () => this.fail(unreachable(url, 'the connection closed')))
  }

  /** Connects and waits for the welcome; a welcome error stops here with the server's words. */
  static async connect(url: string, options: { timeoutMs: number; signal?: AbortSignal; onMotd?: (motd: string) => void }): Promise<MailboxConnection> {
    let ws: WebSocket
    try {
      ws = new WebSocket(url, { dispatcher: boundedDispatcher() })
    } catch (err) {
      throw unreachable(url, (err as Error).message)
    }
    const welcomed = new Promise<MailboxConnection>((resolve, reject) => {
      // undici's error events carry no text, so the message comes from what we were doing.
      ws.addEventListener('error', () => reject(unreachable(url, 'connection refused or failed')))
      ws.addEventListener('close', () => reject(unreachable(url, 'closed before the welcome')))
      ws.addEventListener('message', (event) => {
        const parsed = parseServerMessage(String(event.data))
        if (parsed.kind !== 'known' || parsed.type !== 'welcome') return reject(unreachable(url, 'it did not send a welcome'))
        const welcome = readWelcome(parsed.message as ServerMessage<'welcome'>)
        if (welcome.error !== undefined) {
          return reject(new HiveError('MAILBOX_ERROR', `the wormhole mailbox at ${url} refused service: ${welcome.error}`, { url }))
        }
        if (welcome.motd) options.onMotd?.(welcome.motd)
        resolve(new MailboxConnection(ws, url))
      }, { once: true })
    })
    try {
      return await withDeadline(welcomed, options.timeoutMs, 'the mailbox welcome', options.signal)
    } catch (err) {
      ws.close()
      if (err instanceof HiveError && err.code === 'TIMEOUT') throw unreachable(url, `no welcome within ${options.timeoutMs / 1000} s`)
      if (err instanceof HiveError && err.code === 'ABORTED') throw new HiveError('ABORTED', 'cancelled while connecting to the mailbox')
      throw err
    }
  }

  send(type: string, fields: Record<string, unknown> = {}): void {
    if (this.failure) throw this.failure
    this.ws.send(JSON.stringify({ type, id: randomBytes(2).toString('hex'), ...fields }))
  }

  /** Sends and waits for the reply of `replyType`. */
  request<T extends ServerMessageType>(type: string, fields: Record<string, unknown>, replyType: T, timeoutMs: number): Promise<ServerMessage<T>> {
    const reply = this.expect(replyType, timeoutMs)
    try {
      this.send(type, fields)
    } catch (err) {
      reply.catch(() => undefined)
      throw err
    }
    return reply
  }

  expect<T extends ServerMessageType>(type: T, timeoutMs: number): Promise<ServerMessage<T>> {
    if (this.failure) return Promise.reject(this.failure)
    return new Promise<ServerMessage<T>>((resolve, reject) => {
      const waiter: Waiter = {
        type,
        resolve: resolve as (m: never) => void,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1)
          reject(unreachable(this.url, `no "${type}" within ${timeoutMs / 1000} s`))
        }, timeoutMs),
      }
      this.waiters.push(waiter)
    })
  }

  /** The next mailbox message (echoes of our own included), waiting at most `timeoutMs`. */
  nextMessage(timeoutMs: number, onTimeout: () => HiveError): Promise<MailboxMessage> {
    const queued = this.inbox.shift()
    if (queued) return Promise.resolve(queued)
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.inboxWaiter = null
        reject(onTimeout())
      }, timeoutMs)
      this.inboxWaiter = {
        resolve: (m) => {
          clearTimeout(timer)
          resolve(m)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      }
    })
  }

  private onFrame(data: unknown): void {
    const parsed = parseServerMessage(String(data))
    if (parsed.kind !== 'known') return
    if (parsed.type === 'message') {
      const message = parsed.message as MailboxMessage
      const waiter = this.inboxWaiter
      this.inboxWaiter = null
      if (waiter) return waiter.resolve(message)
      if (this.inbox.length >= MAX_INBOX) {
        // No exchange needs this many: someone is flooding the mailbox. Keep none of it.
        this.fail(new HiveError('MAILBOX_ERROR', `more messages arrived in the mailbox than an exchange needs (a third party is flooding it)`, { url: this.url }))
        return this.close()
      }
      this.inbox.push(message)
      return
    }
    if (parsed.type === 'error') {
      const { error, orig } = parsed.message as ServerMessage<'error'>
      const origType = typeof orig === 'object' && orig !== null ? String((orig as { type?: unknown }).type ?? '') : undefined
      return this.fail(serverError(this.url, error, origType))
    }
    const index = this.waiters.findIndex((w) => w.type === parsed.type)
    if (index < 0) return
    const [waiter] = this.waiters.splice(index, 1)
    clearTimeout(waiter!.timer)
    waiter!.resolve(parsed.message as never)
  }

  private fail(err: HiveError): void {
    if (this.failure) return
    this.failure = err
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer)
      w.reject(err)
    }
    this.inboxWaiter?.reject(err)
    this.inboxWaiter = null
  }

  /** Closes the socket; pending waits reject. */
  close(): void {
    this.fail(new HiveError('ABORTED', 'mailbox connection closed'))
    this.inbox.length = 0
    try {
      this.ws.close()
    } catch {
      // Already closed.
    }
  }
}
