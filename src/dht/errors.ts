import { HiveError, errorMessage } from '../errors.js'

/** hyperdht's error codes, turned into hive's; the message keeps hyperdht's words. */
export function classifyDhtError(err: unknown, hubName: string, relayed: boolean): HiveError {
  const code = (err as { code?: unknown } | null)?.code
  const text = errorMessage(err)
  switch (code) {
    case 'PEER_NOT_FOUND':
      return new HiveError('HUB_NOT_FOUND', `hub \`${hubName}\` is not on the DHT (${text})`)
    case 'HOLEPUNCH_ABORTED':
    case 'HOLEPUNCH_PROBE_TIMEOUT':
    case 'HOLEPUNCH_DOUBLE_RANDOMIZED_NATS':
    case 'CANNOT_HOLEPUNCH':
    case 'REMOTE_NOT_HOLEPUNCHING':
    case 'REMOTE_NOT_HOLEPUNCHABLE':
      return relayed
        ? new HiveError('RELAY_FAILED', `hole punching to hub \`${hubName}\` failed, and so did the relay (${text})`)
        : new HiveError('HOLEPUNCH_FAILED', `hole punching to hub \`${hubName}\` failed and no relay is configured (${text}); pass --relay KEY`)
    case 'RELAY_ABORTED':
      return new HiveError('RELAY_FAILED', `the blind relay did not pair us with hub \`${hubName}\` (${text})`)
    default:
      return new HiveError('HUB_UNREACHABLE', `could not reach hub \`${hubName}\` over the DHT (${text})`)
  }
}
