import { randomBytes } from 'node:crypto'
import { Refusal, type Budget } from './budget.js'
import { Mailbox } from './mailbox.js'

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** 64 random bits as 13 lowercase base32 characters, the shape Debian's server gives a mailbox id. */
export function randomMailboxId(): string {
  let bits = BigInt(`0x${randomBytes(8).toString('hex')}`) << 1n
  let id = ''
  for (let i = 0; i < 13; i++, bits >>= 5n) id = BASE32[Number(bits & 31n)] + id
  return id
}

/**
 * The short number users type. It points at one mailbox; each side that claimed it stays
 * listed (claimed, then released) until every one has released it, and a side that released
 * it cannot claim it again: that would hand it the same mailbox for a new exchange.
 */
class Nameplate {
  readonly sides = new Map<string, 'claimed' | 'released'>()
  constructor(
    readonly mailboxId: string,
    public touched: number,
  ) {}
}

/** Numbers in numeric order, anything else after them. */
function byNumber(a: string, b: string): number {
  const x = /^\d+$/.test(a) ? Number(a) : Infinity
  const y = /^\d+$/.test(b) ? Number(b) : Infinity
  return x - y || (a < b ? -1 : a > b ? 1 : 0)
}

/**
 * The nameplates and mailboxes of one appid: clients of different applications never see
 * each other's numbers. Sizes are checked against the server-wide budget before anything is
 * made, so a refusal changes nothing.
 */
export class AppNamespace {
  private readonly nameplates = new Map<string, Nameplate>()
  private readonly mailboxes = new Map<string, Mailbox>()

  constructor(
    private readonly budget: Budget,
    private readonly newMailboxId: () => string = randomMailboxId,
  ) {}

  get empty(): boolean {
    return this.nameplates.size === 0 && this.mailboxes.size === 0
  }

  list(): string[] {
    return [...this.nameplates.keys()].sort(byNumber)
  }

  /** Claims the smallest free number for `side`: codes stay short on a quiet server. */
  allocate(side: string, now: number): string {
    this.budget.needNameplate()
    // At most `size` numbers are taken, so this ends by size + 1.
    for (let n = 1; ; n++) {
      if (this.nameplates.has(String(n))) continue
      this.claim(String(n), side, now)
      return String(n)
    }
  }

  /** Claims `name` for `side` (making it if need be) and opens its mailbox; returns the mailbox id. */
  claim(name: string, side: string, now: number): string {
    let plate = this.nameplates.get(name)
    if (plate) {
      const state = plate.sides.get(side)
      if (state === 'released') throw new Refusal('reclaimed')
      if (state === undefined && plate.sides.size >= 2) throw new Refusal('crowded')
      const mailbox = this.mailboxes.get(plate.mailboxId)
      if (mailbox && !mailbox.admits(side)) throw new Refusal('crowded')
    } else {
      this.budget.needNameplate()
      this.budget.needMailbox()
      plate = new Nameplate(this.freshMailboxId(), now)
      this.nameplates.set(name, plate)
      this.budget.nameplates++
    }
    this.open(plate.mailboxId, side, now)
    plate.sides.set(side, 'claimed')
    plate.touched = now
    return plate.mailboxId
  }

  /** Ends `side`'s claim; the nameplate goes once nobody claims it. Unknown names are fine: a retry is. */
  release(name: string, side: string, now: number): void {
    const plate = this.nameplates.get(name)
    if (!plate?.sides.has(side)) return
    plate.sides.set(side, 'released')
    plate.touched = now
    if ([...plate.sides.values()].every((s) => s === 'released')) this.dropNameplate(name)
  }

  /** The mailbox `id` with `side` in it, made if it does not exist (a client may pick its own id). */
  open(id: string, side: string, now: number): Mailbox {
    let mailbox = this.mailboxes.get(id)
    if (!mailbox) {
      this.budget.needMailbox()
      mailbox = new Mailbox(id, now, this.budget)
      this.mailboxes.set(id, mailbox)
      this.budget.mailboxes++
    }
    mailbox.join(side, now)
    return mailbox
  }

  /**
   * Records `side` as done with mailbox `id`; it goes once both sides are. Closing one that is
   * already gone, or that `side` never joined, changes nothing: clients resend a close they
   * are unsure of, and a stranger must not take a side's place by closing.
   */
  close(id: string, side: string, mood: string | null, now: number): string[] | null {
    const mailbox = this.mailboxes.get(id)
    if (!mailbox?.close(side, mood, now)) return null
    const moods = mailbox.moods()
    this.dropMailbox(id)
    return moods
  }

  /**
   * Deletes what nobody uses: a mailbox with no listener untouched for `expiryMs`, then a
   * nameplate whose mailbox is gone and that was untouched as long. A listener counts as a
   * touch, so a client waiting for its peer never loses its mailbox.
   */
  sweep(now: number, expiryMs: number): { mailboxes: number; nameplates: number } {
    let mailboxes = 0
    let nameplates = 0
    for (const [id, mailbox] of this.mailboxes) {
      if (mailbox.listening) mailbox.touched = now
      else if (now - mailbox.touched >= expiryMs) {
        this.dropMailbox(id)
        mailboxes++
      }
    }
    for (const [name, plate] of this.nameplates) {
      if (!this.mailboxes.has(plate.mailboxId) && now - plate.touched >= expiryMs) {
        this.dropNameplate(name)
        nameplates++
      }
    }
    return { mailboxes, nameplates }
  }

  private freshMailboxId(): string {
    for (;;) {
      const id = this.newMailboxId()
      if (!this.mailboxes.has(id)) return id
    }
  }

  private dropNameplate(name: string): void {
    if (this.nameplates.delete(name)) this.budget.nameplates--
  }

  private dropMailbox(id: string): void {
    const mailbox = this.mailboxes.get(id)
    if (!mailbox) return
    mailbox.discard()
    this.mailboxes.delete(id)
    this.budget.mailboxes--
  }
}
