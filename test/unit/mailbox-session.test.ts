import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { resolveLimits, type MailboxLimits } from '../../src/mailbox/limits.js'
import { Session } from '../../src/mailbox/session.js'
import { MailboxStore } from '../../src/mailbox/store.js'

type Out = Record<string, unknown> & { type: string }

/** A session on a store, with everything it writes parsed; `take()` returns and forgets it. */
function client(store: MailboxStore) {
  const out: Out[] = []
  const session = new Session(store, (text) => void out.push(JSON.parse(text) as Out), pino({ level: 'silent' }), () => 1_700_000_000_000)
  return {
    session,
    send: (message: unknown) => session.receive(typeof message === 'string' ? message : JSON.stringify(message)),
    take: (): Out[] => out.splice(0),
    /** The non-ack replies to one message. */
    ask: (message: Record<string, unknown>): Out[] => {
      out.length = 0
      session.receive(JSON.stringify(message))
      return out.splice(0).filter((m) => m.type !== 'ack')
    },
  }
}

function store(limits: Partial<MailboxLimits> = {}): MailboxStore {
  return new MailboxStore(resolveLimits(limits))
}

const bind = (side: string) => ({ type: 'bind', appid: 'app', side, id: 'b1' })

describe('mailbox session', () => {
  it('welcomes with {}, acks every message with its id, and stamps every reply with server_tx', () => {
    const c = client(store())
    c.session.welcome()
    c.send({ type: 'ping', ping: 7, id: 'p1' })
    c.send(bind('a'))
    c.send({ type: 'list' })
    expect(c.take()).toEqual([
      { type: 'welcome', welcome: {}, server_tx: 1_700_000_000 },
      { type: 'ack', id: 'p1', server_tx: 1_700_000_000 },
      { type: 'pong', pong: 7, server_tx: 1_700_000_000 },
      { type: 'ack', id: 'b1', server_tx: 1_700_000_000 },
      { type: 'ack', id: null, server_tx: 1_700_000_000 },
      { type: 'nameplates', nameplates: [], server_tx: 1_700_000_000 },
    ])
  })

  it('runs the traced exchange: allocate, claim, open, add with echoes, release, close', () => {
    const s = store()
    const sender = client(s)
    const receiver = client(s)
    sender.send(bind('aaaa'))
    receiver.send(bind('bbbb'))
    expect(sender.ask({ type: 'allocate' })).toMatchObject([{ type: 'allocated', nameplate: '1' }])
    const [claimed] = sender.ask({ type: 'claim', nameplate: '1' })
    const mailbox = claimed!.mailbox as string
    expect(sender.ask({ type: 'open', mailbox })).toEqual([])
    expect(sender.ask({ type: 'add', phase: 'pake', body: 'aa', id: 'x1' })).toMatchObject([{ type: 'message', side: 'aaaa', phase: 'pake', body: 'aa', id: 'x1', server_rx: 1_700_000_000 }])
    expect(receiver.ask({ type: 'list' })).toMatchObject([{ type: 'nameplates', nameplates: [{ id: '1' }] }])
    expect(receiver.ask({ type: 'claim', nameplate: '1' })).toMatchObject([{ type: 'claimed', mailbox }])
    // Opening replays what is there.
    expect(receiver.ask({ type: 'open', mailbox })).toMatchObject([{ type: 'message', side: 'aaaa', phase: 'pake' }])
    receiver.ask({ type: 'add', phase: 'pake', body: 'bb' })
    expect(sender.take()).toMatchObject([{ type: 'message', side: 'bbbb', phase: 'pake', body: 'bb' }])
    expect(sender.ask({ type: 'release' })).toMatchObject([{ type: 'released' }])
    expect(receiver.ask({ type: 'release', nameplate: '1' })).toMatchObject([{ type: 'released' }])
    expect(s.stats().nameplates).toBe(0)
    expect(sender.ask({ type: 'close', mailbox, mood: 'happy' })).toMatchObject([{ type: 'closed' }])
    expect(receiver.ask({ type: 'close', mood: 'happy' })).toMatchObject([{ type: 'closed' }])
    expect(s.stats()).toEqual({ appids: 0, nameplates: 0, mailboxes: 0, storedBytes: 0 })
  })

  it('enforces the order and once-per-connection rules, in Debian\'s words, echoing the request as orig', () => {
    const c = client(store())
    const claim = { type: 'claim', nameplate: '4' }
    expect(c.ask(claim)).toEqual([{ type: 'error', error: 'must bind first', orig: claim, server_tx: 1_700_000_000 }])
    c.send(bind('a'))
    expect(c.ask(bind('a'))).toMatchObject([{ error: 'already bound' }])
    expect(c.ask({ type: 'release' })).toMatchObject([{ error: 'release without nameplate must follow claim' }])
    c.ask({ type: 'allocate' })
    expect(c.ask({ type: 'allocate' })).toMatchObject([{ error: "you already allocated one, don't be greedy" }])
    c.ask(claim)
    expect(c.ask({ type: 'claim', nameplate: '5' })).toMatchObject([{ error: 'only one claim per connection' }])
    expect(c.ask({ type: 'release', nameplate: '5' })).toMatchObject([{ error: 'release and claim must use same nameplate' }])
    expect(c.ask({ type: 'add', phase: 'p', body: '' })).toMatchObject([{ error: 'must open mailbox before adding' }])
    expect(c.ask({ type: 'close' })).toMatchObject([{ error: 'close without mailbox must follow open' }])
    c.ask({ type: 'open', mailbox: 'mine' })
    expect(c.ask({ type: 'open', mailbox: 'mine' })).toMatchObject([{ error: 'only one open per connection' }])
    expect(c.ask({ type: 'close', mailbox: 'theirs' })).toMatchObject([{ error: 'open and close must use same mailbox' }])
    expect(c.ask({ type: 'close' })).toMatchObject([{ type: 'closed' }])
    expect(c.ask({ type: 'close' })).toMatchObject([{ error: 'only one close per connection' }])
    expect(c.ask({ type: 'frobnicate' })).toMatchObject([{ error: 'unknown type', orig: { type: 'frobnicate' } }])
  })

  it('answers garbage with an error, never a throw, and acks only well-formed requests', () => {
    const c = client(store())
    const cases: Array<[unknown, RegExp]> = [
      ['not json {', /not JSON/],
      ['[1,2]', /not a JSON object/],
      ['null', /not a JSON object/],
      ['"text"', /not a JSON object/],
      [{ id: 'x' }, /missing 'type'/],
      [{ type: 5 }, /'type' must be a string/],
      [{ type: 'ping', id: { nested: true } }, /'id' must be a string/],
      [{ type: 'ping', id: 'x'.repeat(300) }, /'id' must be a string/],
    ]
    for (const [frame, error] of cases) {
      c.send(frame)
      const out = c.take()
      expect(out).toHaveLength(1)
      expect(out[0]).toMatchObject({ type: 'error' })
      expect(String(out[0]!.error)).toMatch(error)
    }
    const fieldCases: Array<[Record<string, unknown>, RegExp]> = [
      [{ type: 'ping' }, /ping requires 'ping'/],
      [{ type: 'ping', ping: 'x' }, /'ping' must be a number/],
      [{ type: 'bind', appid: 'app' }, /bind requires 'side'/],
      [{ type: 'bind', appid: ['app'], side: 's' }, /'appid' must be a string/],
      [{ type: 'bind', appid: '', side: 's' }, /'appid' must not be empty/],
      [{ type: 'bind', appid: 'a'.repeat(1000), side: 's' }, /'appid' is too long/],
    ]
    for (const [frame, error] of fieldCases) expect(String(c.ask(frame)[0]?.error)).toMatch(error)
    c.send(bind('a'))
    c.take()
    expect(String(c.ask({ type: 'claim', nameplate: 12 })[0]?.error)).toMatch(/'nameplate' must be a string/)
    expect(String(c.ask({ type: 'claim' })[0]?.error)).toMatch(/claim requires 'nameplate'/)
    c.ask({ type: 'open', mailbox: 'm' })
    expect(String(c.ask({ type: 'add', body: 'aa' })[0]?.error)).toMatch(/missing 'phase'/)
    expect(String(c.ask({ type: 'add', phase: 'p' })[0]?.error)).toMatch(/missing 'body'/)
    expect(String(c.ask({ type: 'add', phase: 'p', body: 12 })[0]?.error)).toMatch(/'body' must be a string/)
    expect(String(c.ask({ type: 'close', mood: { happy: true } })[0]?.error)).toMatch(/'mood' must be a string/)
  })

  it('refuses an oversized body without storing it, and survives an orig too deep to encode', () => {
    const c = client(store({ maxBodyChars: 100 }))
    c.send(bind('a'))
    c.ask({ type: 'open', mailbox: 'm' })
    expect(String(c.ask({ type: 'add', phase: 'p', body: 'ab'.repeat(51) })[0]?.error)).toMatch(/message too large/)
    expect(c.ask({ type: 'add', phase: 'p', body: 'ab'.repeat(50) })).toMatchObject([{ type: 'message' }])
    const deep = `{"type":"nope","x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`
    c.send(deep)
    expect(c.take()).toMatchObject([{ type: 'ack' }, { type: 'error', error: 'unknown type', orig: { type: 'nope' } }])
  })

  it('a third side is crowded, in a claim and in an open', () => {
    const s = store()
    const [a, b, c, d] = [client(s), client(s), client(s), client(s)]
    for (const [side, x] of [['a', a], ['b', b], ['c', c], ['d', d]] as const) x.send(bind(side))
    const mailbox = a.ask({ type: 'claim', nameplate: '3' })[0]!.mailbox
    expect(b.ask({ type: 'claim', nameplate: '3' })).toMatchObject([{ type: 'claimed', mailbox }])
    expect(c.ask({ type: 'claim', nameplate: '3' })).toMatchObject([{ type: 'error', error: 'crowded' }])
    expect(d.ask({ type: 'open', mailbox })).toMatchObject([{ type: 'error', error: 'crowded' }])
  })

  it('a connection that ends stops listening, but its side keeps its place', () => {
    const s = store()
    const a = client(s)
    a.send(bind('a'))
    a.ask({ type: 'open', mailbox: 'm' })
    a.session.end()
    const b = client(s)
    b.send(bind('b'))
    b.ask({ type: 'open', mailbox: 'm' })
    b.ask({ type: 'add', phase: 'p', body: '' })
    expect(a.take()).toEqual([])
    // The same side on a new connection gets everything replayed.
    const again = client(s)
    again.send(bind('a'))
    expect(again.ask({ type: 'open', mailbox: 'm' })).toMatchObject([{ type: 'message', side: 'b' }])
  })
})
