/** The Magic Wormhole project's public mailbox server: the default for join codes. */
export const PUBLIC_MAILBOX = 'ws://relay.magic-wormhole.io:4000/v1'
