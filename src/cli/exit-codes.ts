import type { HiveErrorCode } from '../errors.js'

/**
 * The one table from error code to exit status and advice. README.md lists the same
 * statuses; test/unit/exit-codes.test.ts keeps the two in step.
 */
export const EXIT: Record<HiveErrorCode | 'OK', { status: number; hint?: string }> = {
  OK: { status: 0 },
  INTERNAL: { status: 1, hint: 'this is a bug in hive; rerun with -vvv and report it' },
  USAGE: { status: 2, hint: 'see `hive --help`' },
  TICKET_INVALID: { status: 3, hint: 'ask the hub for its ticket again and copy all of it' },
  HUB_UNREACHABLE: { status: 4, hint: 'is the hub running? UDP to its port must be reachable (firewall, NAT, --announce)' },
  IDENTITY_MISMATCH: { status: 5, hint: 'something else answered at that address; ask the hub for a fresh ticket' },
  TOKEN_REFUSED: { status: 6, hint: 'the ticket is old or its token was rotated; ask the hub for a fresh ticket' },
  PROTOCOL_MISMATCH: { status: 7, hint: 'leave out --alpn: the ticket already names the protocol' },
  ADDR_IN_USE: { status: 8, hint: 'stop whatever holds that address, or choose another one' },
  HUB_STOPPED: { status: 9 },
  HUB_LOST: { status: 10, hint: 'the hub or the network went away; join again once it is back' },
  TRANSPORT_UNAVAILABLE: { status: 11, hint: 'hive needs a platform with a prebuilt QUIC binary (linux-x64-gnu)' },
  IDENTITY_FILE: { status: 12, hint: 'fix or remove the file, choose another with --identity, or use --ephemeral' },
  PROTOCOL_VIOLATION: { status: 13, hint: 'the other side does not speak this version of hive' },
  TIMEOUT: { status: 4, hint: 'check that the other side is up and reachable' },
  WRONG_CODE: { status: 14, hint: 'the hub now shows a fresh code: ask for it and try again' },
  MAILBOX_UNREACHABLE: { status: 15, hint: 'check the network, or point --wormhole-relay (HIVE_WORMHOLE_RELAY) at a reachable mailbox server' },
  MAILBOX_ERROR: { status: 16, hint: 'the mailbox server refused; try again later or use another --wormhole-relay' },
  CODE_CROWDED: { status: 17 },
  JOIN_TIMEOUT: { status: 18, hint: 'check the code, and that the hub runs with --wormhole on the same --wormhole-relay' },
  HUB_FULL: { status: 19, hint: 'the hub takes no more peers now (its --max-peers); try again later, or ask its operator' },
  DHT_UNREACHABLE: { status: 20, hint: 'check --dht-bootstrap (HIVE_DHT_BOOTSTRAP); `none` uses direct connections only' },
  HUB_NOT_FOUND: { status: 21, hint: 'is the hub running, on the same DHT (--dht-bootstrap)? it announces itself when it starts' },
  HOLEPUNCH_FAILED: { status: 22, hint: 'both sides are behind NATs that cannot be punched: pass a blind relay with --relay KEY (run one with `hive relay`)' },
  RELAY_FAILED: { status: 23, hint: 'the relay refused or is unreachable; check --relay, or run your own with `hive relay`' },
  PEER_REVOKED: { status: 24, hint: "the hub's operator revoked this peer's key; only they can allow it again, with `hive peers allow ID`" },
  NOT_TRUSTED: { status: 25, hint: "the hub admits only the peers it has enrolled (--trusted-only); send its operator this peer's id (`hive id` prints it) for `hive peers allow ID NAME`" },
  ABORTED: { status: 130 },
  COMMAND_FAILED: { status: 127, hint: 'check the command after --: it must be a program on PATH, or a path to one' },
  // A reconnect attempt that found the earlier session alive: the peer keeps it, never exits with this.
  SESSION_ALIVE: { status: 1 },
  STREAM_RESET: { status: 1 },
  STREAM_STOPPED: { status: 1 },
  CONNECTION_LOST: { status: 10 },
}

export function exitFor(code: HiveErrorCode): { status: number; hint?: string } {
  return EXIT[code]
}
