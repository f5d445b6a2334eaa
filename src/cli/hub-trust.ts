import type { Logger } from 'pino'
import { HiveError, errorMessage } from '../errors.js'
import type { Hub } from '../hub/hub.js'
import type { HubIdentity } from '../identity/identity.js'
import { controlSocketFor, listenControl, type ControlAnswer, type ControlRequest, type ControlServer } from '../trust/control-socket.js'
import { TrustStore, trustFileFor, type TrustEntry } from '../trust/store.js'
import type { Reporter } from './reporter.js'

export interface HubTrust {
  store: TrustStore
  trustedOnly: boolean
  close(): Promise<void>
}

/** How a trust entry goes out in JSON, to `hive peers` and in events. */
export function entryJson(e: TrustEntry, online?: boolean): Record<string, unknown> {
  return { id: e.id, name: e.name, added: e.added, last_seen: e.lastSeen ?? null, revoked: e.revoked ?? null, ...(online !== undefined ? { online } : {}) }
}

/**
 * The hub's trust store and the control socket through which `hive peers` changes it while
 * the hub runs. An --ephemeral hub keeps its store in memory and listens on no socket.
 * `current` is the hub now: a SIGHUP restart replaces it, the store stays.
 */
export async function openHubTrust(identity: HubIdentity, trustedOnly: boolean, current: () => Hub, reporter: Reporter, logger: Logger): Promise<HubTrust> {
  if (identity.keyFile === null) {
    if (trustedOnly) throw new HiveError('USAGE', '--trusted-only needs a trust store that lasts, which --ephemeral has not: leave out --ephemeral')
    return { store: TrustStore.memory(), trustedOnly, close: async () => undefined }
  }
  const store = await TrustStore.load(trustFileFor(identity.keyFile))
  const log = logger.child({ component: 'trust' })
  const handle = async (request: ControlRequest): Promise<ControlAnswer> => {
    if (request.op === 'list') {
      const online = new Set(current().connectedPeers().map((p) => p.peerId))
      return { ok: true, file: store.file, peers: store.list().map((e) => entryJson(e, online.has(e.id))) }
    }
    if (request.op === 'allow') {
      const entry = store.allow(request.id, request.name)
      await store.save()
      reporter.status(`peer \`${entry.name}\` (${entry.id}) is allowed`)
      reporter.event('peer_allowed', entryJson(entry))
      return { ok: true, peer: entryJson(entry) }
    }
    if (request.op === 'remove') {
      const entry = store.remove(request.who)
      const online = current().connectedPeers().some((p) => p.peerId === entry.id)
      try {
        await store.save()
      } catch (err) {
        throw new HiveError('IDENTITY_FILE', `removed in the running hub, but ${errorMessage(err)}: the hub knows the peer again when it restarts`)
      }
      reporter.status(`peer \`${entry.name}\` (${entry.id}) is removed from the trust store${online ? ', and still connected' : ''}`)
      reporter.event('peer_removed', { ...entryJson(entry), online })
      return { ok: true, peer: entryJson(entry), online }
    }
    const entry = store.revoke(request.who)
    // Cut off first: a store that cannot be written must not keep the peer in.
    const ended = await current().revoke(entry.id)
    reporter.status(`revoked peer \`${entry.name}\` (${entry.id})${ended > 0 ? ': its session ended' : ''}`)
    reporter.event('peer_revoked', { ...entryJson(entry), sessions_ended: ended })
    try {
      await store.save()
    } catch (err) {
      throw new HiveError('IDENTITY_FILE', `revoked in the running hub, but ${errorMessage(err)}: the hub forgets the revocation when it stops`)
    }
    return { ok: true, peer: entryJson(entry), ended }
  }
  let server: ControlServer
  try {
    server = await listenControl(controlSocketFor(identity.keyFile), handle, log)
  } catch (err) {
    if (err instanceof HiveError && err.details.reason === 'long_path') {
      // Off Linux, or a key file name of near 100 bytes: the hub still works, `hive peers` then edits only the file.
      reporter.warning(`${err.message}; \`hive peers revoke\` takes effect when the hub restarts`)
      return { store, trustedOnly, close: () => store.flushed() }
    }
    throw err
  }
  return {
    store,
    trustedOnly,
    close: async () => {
      await server.close()
      await store.flushed()
    },
  }
}
