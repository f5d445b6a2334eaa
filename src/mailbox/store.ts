import { Budget } from './budget.js'
import type { MailboxLimits } from './limits.js'
import { AppNamespace, randomMailboxId } from './namespace.js'

export interface StoreStats {
  appids: number
  nameplates: number
  mailboxes: number
  storedBytes: number
}

/**
 * Everything the server remembers, in memory only: a restart forgets every code, which costs
 * the clients of the moment a retry and keeps nothing of anyone's on disk. Pure state and no
 * timers, so that tests drive it (and its clock) directly.
 */
export class MailboxStore {
  readonly budget: Budget
  private readonly apps = new Map<string, AppNamespace>()

  constructor(
    readonly limits: MailboxLimits,
    private readonly newMailboxId: () => string = randomMailboxId,
  ) {
    this.budget = new Budget(limits)
  }

  /**
   * Runs `work` on the namespace of `appid`. A namespace exists only while it holds
   * something, so that binding to a thousand made-up appids costs nothing.
   */
  within<T>(appid: string, work: (app: AppNamespace) => T): T {
    let app = this.apps.get(appid)
    if (!app) {
      app = new AppNamespace(this.budget, this.newMailboxId)
      this.apps.set(appid, app)
    }
    try {
      return work(app)
    } finally {
      if (app.empty) this.apps.delete(appid)
    }
  }

  /** Expires what nobody uses in every namespace; returns how much went. */
  sweep(now: number): { mailboxes: number; nameplates: number } {
    const total = { mailboxes: 0, nameplates: 0 }
    for (const [appid, app] of this.apps) {
      const gone = app.sweep(now, this.limits.channelExpiryMs)
      total.mailboxes += gone.mailboxes
      total.nameplates += gone.nameplates
      if (app.empty) this.apps.delete(appid)
    }
    return total
  }

  stats(): StoreStats {
    const { nameplates, mailboxes, storedBytes } = this.budget
    return { appids: this.apps.size, nameplates, mailboxes, storedBytes }
  }
}
