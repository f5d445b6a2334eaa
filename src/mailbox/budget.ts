import type { MailboxLimits } from './limits.js'

/**
 * A request the server turns down. Its text goes back to the client as `{type: "error",
 * error}`, so it uses the words Debian's server uses where there are some ("crowded",
 * "must bind first"): the stock clients show them to their users as they are.
 */
export class Refusal extends Error {
  constructor(readonly explain: string) {
    super(explain)
    this.name = 'Refusal'
  }
}

/**
 * What every appid together holds: the limits are for the whole server, since a hostile
 * client can pick a fresh appid as easily as a fresh nameplate. Each check happens before
 * anything is created, so a refusal leaves no half-made state behind.
 */
export class Budget {
  nameplates = 0
  mailboxes = 0
  storedBytes = 0

  constructor(readonly limits: MailboxLimits) {}

  needNameplate(): void {
    if (this.nameplates >= this.limits.maxNameplates) throw new Refusal('too many nameplates in use on this server; try again later')
  }

  needMailbox(): void {
    if (this.mailboxes >= this.limits.maxMailboxes) throw new Refusal('too many mailboxes in use on this server; try again later')
  }

  needBytes(bytes: number): void {
    if (this.storedBytes + bytes > this.limits.maxStoredBytes) throw new Refusal('this server holds too much data now; try again later')
  }
}
