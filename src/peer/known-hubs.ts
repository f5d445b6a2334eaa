import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { HiveError, errorMessage } from '../errors.js'
import { checkDirectory, fileError, readPrivate, removePrivate, writePrivate } from '../identity/private-file.js'
import { isValidName, NAME_RULE } from '../protocol/names.js'
import { decodeTicket, type Ticket } from '../protocol/ticket.js'
import { configDir } from '../identity/identity.js'

/** A ticket is a few hundred bytes; a file far larger is not one of ours. */
const MAX_TICKET_FILE = 16 * 1024
/** `hive hubs` lists at most this many: a directory of thousands is not one hive made. */
const MAX_LISTED = 1000

export type KnownHub = { name: string; file: string; ticket: Ticket } | { name: string; file: string; error: string }

/**
 * The hubs a peer has joined, one ticket per file (`hubs/NAME`, mode 0600), so that a laptop
 * that paired once with a join code comes back by name (`hive join NAME --hub HUB`). A file
 * holds a capability: it is as private as a key.
 */
export class KnownHubs {
  constructor(readonly dir: string) {}

  /** `$XDG_CONFIG_HOME/hive/hubs`. */
  static inConfig(env: NodeJS.ProcessEnv = process.env): KnownHubs {
    return new KnownHubs(join(configDir(env), 'hubs'))
  }

  private fileOf(hub: string): string {
    if (!isValidName(hub)) throw new HiveError('USAGE', `"${hub.slice(0, 80)}" is not a hub name (${NAME_RULE})`)
    return join(this.dir, hub)
  }

  /** The remembered ticket of `hub`; a missing or damaged one is an error that says what to do. */
  async get(hub: string): Promise<Ticket> {
    const file = this.fileOf(hub)
    await checkDirectory(this.dir)
    const text = await readPrivate(file, MAX_TICKET_FILE, 'a hive ticket')
    if (text === null) throw new HiveError('USAGE', `no remembered hub named ${hub}; \`hive hubs\` lists them, and a join with --ticket or --join-code remembers one`)
    try {
      return decodeTicket(text.trim())
    } catch (err) {
      throw new HiveError('TICKET_INVALID', `${file} does not hold a valid ticket (${errorMessage(err)}); run \`hive hubs forget ${hub}\` and join with a fresh ticket`, { file })
    }
  }

  /**
   * Remembers `ticket` under its hub's name. Returns what changed: nothing, a new hub, a newer
   * ticket of the same hub (`updated`), or the ticket of another hub of that name (`replaced`).
   */
  async remember(ticket: Ticket, text: string): Promise<'new' | 'updated' | 'replaced' | 'same'> {
    const file = this.fileOf(ticket.name)
    await checkDirectory(this.dir)
    const before = await readPrivate(file, MAX_TICKET_FILE, 'a hive ticket')
    if (before?.trim() === text) return 'same'
    await writePrivate(file, text + '\n')
    if (before === null) return 'new'
    return sameHub(before, ticket) ? 'updated' : 'replaced'
  }

  async forget(hub: string): Promise<boolean> {
    return removePrivate(this.fileOf(hub))
  }

  /** Every remembered hub, by name; a file that is not a good ticket is listed with why. */
  async list(): Promise<KnownHub[]> {
    await checkDirectory(this.dir)
    let names: string[]
    try {
      names = (await readdir(this.dir)).filter(isValidName).sort().slice(0, MAX_LISTED)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw fileError(this.dir, 'read', err)
    }
    const out: KnownHub[] = []
    for (const name of names) {
      const file = join(this.dir, name)
      try {
        const text = await readPrivate(file, MAX_TICKET_FILE, 'a hive ticket')
        if (text !== null) out.push({ name, file, ticket: decodeTicket(text.trim()) })
      } catch (err) {
        out.push({ name, file, error: errorMessage(err) })
      }
    }
    return out
  }
}

/** Whether a stored ticket's text names the same hub key as `ticket`; a damaged one does not. */
function sameHub(storedText: string, ticket: Ticket): boolean {
  try {
    return decodeTicket(storedText.trim()).peerId === ticket.peerId
  } catch {
    return false
  }
}
