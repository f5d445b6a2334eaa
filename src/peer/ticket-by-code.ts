import { HiveError } from '../errors.js'
import { STALE_PEER, Wormhole } from '../wormhole/wormhole.js'

export interface CodeFetchOptions {
  code: string
  relayUrl: string
  /** How long to wait for a hub to be there; a claim creates any nameplate, so only waiting tells. */
  timeoutMs: number
  signal?: AbortSignal
  onMotd?: (motd: string) => void
}

/** Receives a hub's ticket over Magic Wormhole; the caller decodes and joins as with --ticket. */
export async function fetchTicketByCode(options: CodeFetchOptions): Promise<string> {
  const wormhole = await Wormhole.open({ relayUrl: options.relayUrl, signal: options.signal, onMotd: options.onMotd })
  try {
    await wormhole.useCode(options.code)
  } catch (err) {
    await wormhole.close('errory')
    throw err
  }
  const onAbort = (): void => void wormhole.close('lonely')
  options.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await wormhole.receiveText(
      options.timeoutMs,
      () => new HiveError('JOIN_TIMEOUT', `nobody is sharing under code ${options.code} (waited ${Math.round(options.timeoutMs / 1000)} s)`),
    )
  } catch (err) {
    if (options.signal?.aborted) throw new HiveError('ABORTED', 'join cancelled')
    if (err instanceof HiveError && err.code === 'TIMEOUT' && err.details.reason === STALE_PEER) {
      throw new HiveError('JOIN_TIMEOUT', `the hub that made code ${options.code} stopped answering (it may have quit); ask for a fresh code`)
    }
    throw err
  } finally {
    options.signal?.removeEventListener('abort', onAbort)
  }
}
