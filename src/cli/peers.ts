import { HiveError, type HiveErrorCode } from '../errors.js'
import { EXIT } from './exit-codes.js'
import { defaultIdentityFile } from '../identity/identity.js'
import { askHub, controlSocketFor, type ControlAnswer, type ControlRequest } from '../trust/control-socket.js'
import { TrustStore, trustFileFor } from '../trust/store.js'
import { entryJson } from './hub-trust.js'
import type { Reporter } from './reporter.js'
import { table } from './table.js'

export interface PeersOptions {
  identity?: string
}

type PeerJson = { id: string; name: string; added: string; last_seen: string | null; revoked: string | null; online?: boolean }

/**
 * `hive peers`: the hub's trust store. While a hub runs with this key, each request goes to
 * it over its control socket, so the hub acts at once and stays the file's only writer;
 * otherwise the file is read or changed here, and the next hub started reads it.
 */
async function perform(opts: PeersOptions, request: ControlRequest): Promise<{ answer: Extract<ControlAnswer, { ok: true }>; live: boolean }> {
  const keyFile = opts.identity ?? defaultIdentityFile()
  const answer = await askHub(controlSocketFor(keyFile), request)
  if (answer !== null) {
    // The hub's own code, when it is one this hive knows: its exit status then means the same.
    if (!answer.ok) throw new HiveError(Object.hasOwn(EXIT, answer.code) && answer.code !== 'OK' ? (answer.code as HiveErrorCode) : 'INTERNAL', answer.message)
    return { answer, live: true }
  }
  const store = await TrustStore.load(trustFileFor(keyFile))
  if (request.op === 'list') return { answer: { ok: true, file: store.file, peers: store.list().map((e) => entryJson(e)) }, live: false }
  const entry = request.op === 'allow' ? store.allow(request.id, request.name) : request.op === 'revoke' ? store.revoke(request.who) : store.remove(request.who)
  await store.save()
  return { answer: { ok: true, peer: entryJson(entry) }, live: false }
}

const day = (iso: string | null): string => (iso === null ? '-' : iso.slice(0, 16).replace('T', ' '))

export async function listPeers(opts: PeersOptions, reporter: Reporter): Promise<void> {
  const { answer, live } = await perform(opts, { op: 'list' })
  const peers = answer.peers as PeerJson[]
  reporter.event('peers', { file: answer.file, hub_running: live, peers })
  if (peers.length === 0) return reporter.status(`no peers in ${String(answer.file)} yet: a peer is enrolled on its first join, or with \`hive peers allow ID NAME\``)
  const state = (p: PeerJson): string => (p.revoked !== null ? 'revoked' : p.online ? 'trusted, online' : 'trusted')
  const rows = peers.map((p) => [p.name, p.id, state(p), day(p.added), day(p.last_seen)])
  for (const line of table(['NAME', 'PEER ID', 'STATE', 'ADDED (UTC)', 'LAST SEEN (UTC)'], rows)) reporter.listing(line)
  if (!live) reporter.status('(no hub is running with this key)')
}

export async function revokePeer(who: string, opts: PeersOptions, reporter: Reporter): Promise<void> {
  const { answer, live } = await perform(opts, { op: 'revoke', who })
  const peer = answer.peer as PeerJson
  const ended = typeof answer.ended === 'number' ? answer.ended : 0
  reporter.event('peer_revoked', { ...peer, hub_running: live, sessions_ended: ended })
  const after = live ? (ended > 0 ? 'the hub ended its session' : 'it was not connected') : 'no hub is running with this key; the next one started refuses it'
  reporter.status(`revoked peer \`${peer.name}\` (${peer.id}): ${after}`)
}

export async function allowPeer(id: string, name: string | undefined, opts: PeersOptions, reporter: Reporter): Promise<void> {
  const { answer, live } = await perform(opts, { op: 'allow', id, ...(name !== undefined ? { name } : {}) })
  const peer = answer.peer as PeerJson
  reporter.event('peer_allowed', { ...peer, hub_running: live })
  reporter.status(`allowed peer \`${peer.name}\` (${peer.id})${live ? '' : '; no hub is running with this key, the next one started admits it'}`)
}

export async function removePeer(who: string, opts: PeersOptions, reporter: Reporter): Promise<void> {
  const { answer, live } = await perform(opts, { op: 'remove', who })
  const peer = answer.peer as PeerJson
  const online = answer.online === true
  reporter.event('peer_removed', { ...peer, hub_running: live, online })
  // Forgetting is not cutting off: say what the peer can still do, since the two are easy to confuse.
  const after = `${peer.revoked !== null ? 'it is no longer refused: ' : ''}with a valid ticket it is enrolled again, unless the hub runs --trusted-only, which refuses it`
  reporter.status(`removed peer \`${peer.name}\` (${peer.id}); ${after}${online ? '. It is still connected: `hive peers revoke` ends a session' : ''}`)
}
