import { describe, expect, it } from 'vitest'
import { Refusal } from '../../src/mailbox/budget.js'
import { DEFAULT_MAILBOX_LIMITS, resolveLimits, type MailboxLimits } from '../../src/mailbox/limits.js'
import type { Listener, StoredMessage } from '../../src/mailbox/mailbox.js'
import { randomMailboxId } from '../../src/mailbox/namespace.js'
import { MailboxStore } from '../../src/mailbox/store.js'
import { isHiveError } from '../../src/errors.js'

const APP = 'lothar.com/wormhole/text-or-file-xfer'

function store(limits: Partial<MailboxLimits> = {}): MailboxStore {
  return new MailboxStore(resolveLimits(limits))
}

/** The refusal's words, or 'ok'. */
function refusal(work: () => unknown): string {
  try {
    work()
    return 'ok'
  } catch (err) {
    if (err instanceof Refusal) return err.explain
    throw err
  }
}

function message(side: string, phase: string, body = 'abcd', receivedAt = 1): StoredMessage {
  return { side, phase, body, id: null, receivedAt }
}

function recorder(): Listener & { seen: string[] } {
  const seen: string[] = []
  return { seen, deliver: (m) => void seen.push(`${m.side}:${m.phase}`) }
}

describe('mailbox state: nameplates', () => {
  it('allocates the smallest free number, per appid, and reuses a released one', () => {
    const s = store()
    expect(s.within(APP, (a) => a.allocate('side-a', 0))).toBe('1')
    expect(s.within(APP, (a) => a.allocate('side-b', 0))).toBe('2')
    expect(s.within(APP, (a) => a.claim('3', 'side-c', 0))).toMatch(/^[a-z2-7]{13}$/)
    expect(s.within(APP, (a) => a.allocate('side-d', 0))).toBe('4')
    // Another application has numbers of its own.
    expect(s.within('other/app', (a) => a.allocate('side-a', 0))).toBe('1')
    s.within(APP, (a) => a.release('2', 'side-b', 0))
    expect(s.within(APP, (a) => a.allocate('side-e', 0))).toBe('2')
    expect(s.within(APP, (a) => a.list())).toEqual(['1', '2', '3', '4'])
    expect(s.stats()).toMatchObject({ appids: 2, nameplates: 5 })
  })

  it('gives both claimers the same mailbox; a third side is crowded, and a released side cannot reclaim', () => {
    const s = store()
    const first = s.within(APP, (a) => a.claim('7', 'alice', 0))
    expect(s.within(APP, (a) => a.claim('7', 'bob', 0))).toBe(first)
    // Claiming again with the same side (a reconnect) is fine.
    expect(s.within(APP, (a) => a.claim('7', 'alice', 0))).toBe(first)
    expect(refusal(() => s.within(APP, (a) => a.claim('7', 'mallory', 0)))).toBe('crowded')
    s.within(APP, (a) => a.release('7', 'alice', 0))
    expect(refusal(() => s.within(APP, (a) => a.claim('7', 'alice', 0)))).toBe('reclaimed')
    // Still two sides on record: a newcomer is crowded until both have released.
    expect(refusal(() => s.within(APP, (a) => a.claim('7', 'mallory', 0)))).toBe('crowded')
    s.within(APP, (a) => a.release('7', 'bob', 0))
    expect(s.within(APP, (a) => a.list())).toEqual([])
    expect(s.stats().nameplates).toBe(0)
  })

  it('a mailbox opened by two sides turns a third claimer of its nameplate away', () => {
    const s = store()
    const id = s.within(APP, (a) => a.claim('5', 'alice', 0))
    s.within(APP, (a) => a.open(id, 'bob', 0))
    expect(refusal(() => s.within(APP, (a) => a.claim('5', 'carol', 0)))).toBe('crowded')
    expect(refusal(() => s.within(APP, (a) => a.open(id, 'carol', 0)))).toBe('crowded')
  })

  it('refuses a nameplate beyond the limit, counting every appid, and makes nothing', () => {
    const s = store({ maxNameplates: 3 })
    s.within('a', (a) => a.allocate('x', 0))
    s.within('b', (a) => a.allocate('x', 0))
    s.within('c', (a) => a.claim('9', 'x', 0))
    expect(refusal(() => s.within('d', (a) => a.allocate('x', 0)))).toMatch(/too many nameplates/)
    expect(refusal(() => s.within('a', (a) => a.claim('2', 'y', 0)))).toMatch(/too many nameplates/)
    // An existing nameplate can still be claimed by its second side.
    expect(refusal(() => s.within('c', (a) => a.claim('9', 'y', 0)))).toBe('ok')
    expect(s.stats()).toMatchObject({ appids: 3, nameplates: 3, mailboxes: 3 })
  })
})

describe('mailbox state: mailboxes', () => {
  it('replays what is stored to a new listener, then hands on new messages, echoes included', () => {
    const s = store()
    const box = s.within(APP, (a) => a.open('box1', 'alice', 0))
    const alice = recorder()
    box.subscribe(alice)
    box.add(message('alice', 'pake'))
    const bob = recorder()
    const bobBox = s.within(APP, (a) => a.open('box1', 'bob', 0))
    expect(bobBox).toBe(box)
    expect(box.subscribe(bob).map((m) => m.phase)).toEqual(['pake'])
    box.add(message('bob', 'pake'))
    expect(alice.seen).toEqual(['alice:pake', 'bob:pake'])
    expect(bob.seen).toEqual(['bob:pake'])
  })

  it('is deleted once every side has closed, and not before', () => {
    const s = store()
    const box = s.within(APP, (a) => a.open('box1', 'alice', 0))
    s.within(APP, (a) => a.open('box1', 'bob', 0))
    box.add(message('alice', 'pake'))
    expect(s.within(APP, (a) => a.close('box1', 'alice', 'happy', 0))).toBeNull()
    // A close from a side that never joined changes nothing.
    expect(s.within(APP, (a) => a.close('box1', 'stranger', 'happy', 0))).toBeNull()
    expect(s.stats().mailboxes).toBe(1)
    expect(s.within(APP, (a) => a.close('box1', 'bob', 'happy', 0))).toEqual(['happy', 'happy'])
    expect(s.stats()).toEqual({ appids: 0, nameplates: 0, mailboxes: 0, storedBytes: 0 })
    // A connection that still holds it stores nothing more.
    expect(refusal(() => box.add(message('alice', '0')))).toMatch(/closed/)
  })

  it('limits messages per mailbox, bytes over all mailboxes, listeners, and mailboxes', () => {
    const s = store({ maxMessagesPerMailbox: 3, maxStoredBytes: 2000, maxListenersPerMailbox: 2, maxMailboxes: 2 })
    const box = s.within(APP, (a) => a.open('m1', 'alice', 0))
    for (let i = 0; i < 3; i++) box.add(message('alice', String(i)))
    expect(refusal(() => box.add(message('alice', 'more')))).toMatch(/full/)
    const other = s.within(APP, (a) => a.open('m2', 'alice', 0))
    expect(refusal(() => other.add(message('alice', 'big', 'ab'.repeat(500))))).toMatch(/too much data/)
    expect(s.stats().storedBytes).toBeLessThanOrEqual(2000)
    expect(refusal(() => s.within(APP, (a) => a.open('m3', 'alice', 0)))).toMatch(/too many mailboxes/)
    box.subscribe(recorder())
    box.subscribe(recorder())
    expect(refusal(() => box.subscribe(recorder()))).toMatch(/too many connections/)
    // Closing gives the bytes back.
    s.within(APP, (a) => a.close('m1', 'alice', null, 0))
    expect(s.stats().storedBytes).toBe(0)
    expect(refusal(() => other.add(message('alice', 'big', 'ab'.repeat(200))))).toBe('ok')
  })
})

describe('mailbox state: expiry', () => {
  const expiry = 1000

  it('expires an unused mailbox and its nameplate, but not one somebody listens to', () => {
    const s = store({ channelExpiryMs: expiry })
    const idle = s.within(APP, (a) => a.claim('1', 'alice', 0))
    const watched = s.within(APP, (a) => a.claim('2', 'bob', 0))
    const listener = recorder()
    s.within(APP, (a) => a.open(watched, 'bob', 0)).subscribe(listener)
    expect(s.sweep(expiry - 1)).toEqual({ mailboxes: 0, nameplates: 0 })
    expect(s.sweep(expiry)).toEqual({ mailboxes: 1, nameplates: 1 })
    expect(s.within(APP, (a) => a.list())).toEqual(['2'])
    // The nameplate is free again, with a new mailbox.
    expect(s.within(APP, (a) => a.claim('1', 'carol', expiry))).not.toBe(idle)
    // Once its listener goes, the watched one lasts as long again, from the last sweep that saw it.
    s.within(APP, (a) => a.open(watched, 'bob', expiry)).unsubscribe(listener)
    expect(s.sweep(2 * expiry - 1).mailboxes).toBe(0)
    expect(s.sweep(3 * expiry)).toEqual({ mailboxes: 2, nameplates: 2 })
    expect(s.stats()).toEqual({ appids: 0, nameplates: 0, mailboxes: 0, storedBytes: 0 })
  })

  it('a message keeps a mailbox alive', () => {
    const s = store({ channelExpiryMs: expiry })
    const box = s.within(APP, (a) => a.open('m', 'alice', 0))
    box.add(message('alice', 'pake', 'ab', 900))
    expect(s.sweep(1500).mailboxes).toBe(0)
    expect(s.sweep(1900).mailboxes).toBe(1)
  })
})

describe('mailbox limits', () => {
  it('defaults are what README documents, and nonsense is refused', () => {
    expect(DEFAULT_MAILBOX_LIMITS).toMatchObject({ maxConnections: 1000, maxNameplates: 1000, maxMailboxes: 1000, maxMessagesPerMailbox: 64, maxBodyChars: 65536 })
    expect(resolveLimits({ maxNameplates: 5 }).maxNameplates).toBe(5)
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      let caught: unknown
      try {
        resolveLimits({ maxMailboxes: bad })
      } catch (err) {
        caught = err
      }
      expect(isHiveError(caught, 'USAGE')).toBe(true)
    }
  })

  it('mailbox ids look like Debian\'s: 13 base32 characters, different each time', () => {
    const ids = new Set(Array.from({ length: 200 }, randomMailboxId))
    expect(ids.size).toBe(200)
    for (const id of ids) expect(id).toMatch(/^[a-z2-7]{13}$/)
  })
})
