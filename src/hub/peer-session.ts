import { timingSafeEqual } from 'node:crypto'
import type { Logger } from 'pino'
import { HiveError, errorMessage } from '../errors.js'
import { decodeHeader, HEADER_LENGTH } from '../protocol/header.js'
import type { Hello } from '../protocol/control.js'
import { ControlChannel } from '../link/control-channel.js'
import { withDeadline } from '../deadline.js'
import type { Link } from '../link/types.js'
import { forwardStream, type ForwardContext } from './forward.js'
import { printable } from '../printable.js'

export interface SessionContext extends ForwardContext {
  hubName: string
  alpn: string
  token: Uint8Array
  helloTimeoutMs: number
}

export interface SessionPeer {
  peer: string
  peerId: string
  address: string
}

function tokenMatches(expected: Uint8Array, offered: string): boolean {
  const given = Buffer.from(offered, 'base64url')
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/**
 * One peer's connection, from hello to goodbye. No data stream is accepted until the
 * peer has proved the token on the control stream, which is the first stream it opens.
 */
export class PeerSession {
  control: ControlChannel | null = null
  peer: SessionPeer | null = null
  private byeReason: string | null = null

  constructor(
    readonly connection: Link,
    private readonly ctx: SessionContext,
    private readonly log: Logger,
  ) {}

  /** Runs the handshake; resolves with the peer's name, or throws why it was refused. */
  async handshake(): Promise<SessionPeer> {
    const hello = await withDeadline(this.readHello(), this.ctx.helloTimeoutMs, 'the hello')
    const control = this.control!
    const refusal = this.check(hello)
    if (refusal) {
      await control.send({ type: 'refused', code: refusal.code, message: refusal.message }).catch(() => undefined)
      await control.stream.finish()
      throw new HiveError(refusal.code === 'token' ? 'TOKEN_REFUSED' : 'PROTOCOL_MISMATCH', refusal.message, { peer: hello.peer })
    }
    await control.send({ type: 'welcome', hub: this.ctx.hubName })
    this.peer = { peer: hello.peer, peerId: this.connection.remotePeerId, address: this.connection.remoteAddress }
    return this.peer
  }

  private async readHello(): Promise<Hello> {
    const stream = await this.connection.acceptStream()
    const header = decodeHeader(await stream.readExactly(HEADER_LENGTH))
    if (!header.ok || header.target.kind !== 'control') {
      stream.reset()
      throw new HiveError('PROTOCOL_VIOLATION', 'the first stream is not a control stream')
    }
    this.control = new ControlChannel(stream)
    const message = await this.control.next()
    if (message?.type !== 'hello') throw new HiveError('PROTOCOL_VIOLATION', `expected a hello, got ${message?.type ?? 'end of stream'}`)
    return message
  }

  private check(hello: Hello): { code: 'token' | 'alpn'; message: string } | null {
    if (!tokenMatches(this.ctx.token, hello.token)) {
      return { code: 'token', message: 'the access token is not valid for this hub (the ticket is old or was rotated)' }
    }
    if (hello.alpn !== this.ctx.alpn) {
      return { code: 'alpn', message: `the hub speaks ${this.ctx.alpn}, the peer asked for ${hello.alpn}` }
    }
    return null
  }

  /** Accepts data streams until the connection ends; resolves with why it ended. */
  async serve(): Promise<{ reason: string; lost: boolean }> {
    const byeWatch = this.watchBye()
    for (;;) {
      let stream
      try {
        stream = await this.connection.acceptStream()
      } catch {
        break
      }
      forwardStream(stream, this.ctx).then(
        (outcome) => {
          if (outcome.kind === 'refused') this.log.debug({ peer: this.peer?.peer, reason: outcome.reason }, 'stream refused')
        },
        (err: unknown) => this.log.warn({ err: errorMessage(err) }, 'stream failed'),
      )
    }
    await byeWatch
    return this.byeReason !== null ? { reason: this.byeReason, lost: false } : { reason: 'connection lost', lost: true }
  }

  private async watchBye(): Promise<void> {
    try {
      for (;;) {
        const message = await this.control!.next()
        if (message === null) return
        if (message.type === 'bye') {
          this.byeReason = printable(message.reason)
          // The peer is leaving: nothing more will come, so release the connection now.
          this.connection.close()
          return
        }
      }
    } catch {
      // The connection went away; serve() reports it as lost.
    }
  }

  /** Tells the peer why we are closing, then gives the bye a moment to arrive. */
  async close(reason: string, graceMs: number): Promise<void> {
    if (this.control && !this.connection.isClosed) {
      await withDeadline(this.control.bye(reason), graceMs, 'bye').catch(() => undefined)
      await withDeadline(this.connection.closed, graceMs, 'peer close').catch(() => undefined)
    }
    this.connection.close()
  }
}
