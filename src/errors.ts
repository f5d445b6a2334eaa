/**
 * Every failure the library reports is a HiveError with a stable code. The CLI owns the
 * table that turns codes into words and exit statuses (src/cli/exit-codes.ts).
 */
export type HiveErrorCode =
  | 'USAGE'
  | 'TICKET_INVALID'
  | 'HUB_UNREACHABLE'
  | 'IDENTITY_MISMATCH'
  | 'TOKEN_REFUSED'
  | 'PROTOCOL_MISMATCH'
  | 'ADDR_IN_USE'
  | 'HUB_STOPPED'
  | 'HUB_LOST'
  | 'TRANSPORT_UNAVAILABLE'
  | 'IDENTITY_FILE'
  | 'PROTOCOL_VIOLATION'
  | 'STREAM_RESET'
  | 'STREAM_STOPPED'
  | 'CONNECTION_LOST'
  | 'TIMEOUT'
  | 'WRONG_CODE'
  | 'MAILBOX_UNREACHABLE'
  | 'MAILBOX_ERROR'
  | 'CODE_CROWDED'
  | 'JOIN_TIMEOUT'
  | 'HUB_FULL'
  | 'SESSION_ALIVE'
  | 'DHT_UNREACHABLE'
  | 'HUB_NOT_FOUND'
  | 'HOLEPUNCH_FAILED'
  | 'RELAY_FAILED'
  | 'ABORTED'
  | 'COMMAND_FAILED'
  | 'PEER_REVOKED'
  | 'NOT_TRUSTED'
  | 'INTERNAL'

export class HiveError extends Error {
  readonly code: HiveErrorCode
  /** Extra facts a message may name (an option, an address, a file). */
  readonly details: Record<string, string>

  constructor(code: HiveErrorCode, message: string, details: Record<string, string> = {}, options?: ErrorOptions) {
    super(message, options)
    this.name = 'HiveError'
    this.code = code
    this.details = details
  }
}

export function isHiveError(err: unknown, code?: HiveErrorCode): err is HiveError {
  return err instanceof HiveError && (code === undefined || err.code === code)
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
