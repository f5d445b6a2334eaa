import { z } from 'zod'
import { printable } from '../printable.js'

/**
 * Mailbox server messages (PROTOCOL.md §3), validated on arrival. Unknown keys are kept
 * (the server may add some); unknown message types are ignored by the connection.
 */

/**
 * The largest frame a mailbox server sends an honest client: the text hive exchanges (a
 * ticket, under 1 KiB) travels hex-encoded and encrypted in a few KiB. Anything larger is
 * refused and the connection dropped.
 */
export const MAX_FRAME_BYTES = 64 * 1024
/** A message body's hex, at most; an honest one is a few KiB. */
const MAX_BODY_HEX = 32 * 1024

/**
 * Hex of whole bytes. Checked with a regex that cannot backtrack, and after the length:
 * `/^([0-9a-f]{2})*$/` on an 8 MiB body overflowed the stack and ended the process.
 */
const hex = z
  .string()
  .max(MAX_BODY_HEX, 'too long')
  .refine((s) => s.length % 2 === 0 && /^[0-9a-f]*$/i.test(s), 'not hex')

export const WelcomeSchema = z.looseObject({
  type: z.literal('welcome'),
  welcome: z.looseObject({ motd: z.string().optional(), error: z.string().optional() }),
})
export const AllocatedSchema = z.looseObject({ type: z.literal('allocated'), nameplate: z.string().regex(/^\d+$/) })
export const ClaimedSchema = z.looseObject({ type: z.literal('claimed'), mailbox: z.string().min(1).max(256) })
export const ReleasedSchema = z.looseObject({ type: z.literal('released') })
export const ClosedSchema = z.looseObject({ type: z.literal('closed') })
export const MailboxMessageSchema = z.looseObject({
  type: z.literal('message'),
  side: z.string().min(1).max(256),
  phase: z.string().min(1).max(256),
  body: hex,
})
export const ServerErrorSchema = z.looseObject({ type: z.literal('error'), error: z.string(), orig: z.unknown().optional() })

export const SCHEMAS = {
  welcome: WelcomeSchema,
  allocated: AllocatedSchema,
  claimed: ClaimedSchema,
  released: ReleasedSchema,
  closed: ClosedSchema,
  message: MailboxMessageSchema,
  error: ServerErrorSchema,
} as const
export type ServerMessageType = keyof typeof SCHEMAS
export type ServerMessage<T extends ServerMessageType> = z.infer<(typeof SCHEMAS)[T]>
export type MailboxMessage = z.infer<typeof MailboxMessageSchema>

export type ParsedServerMessage =
  | { kind: 'known'; type: ServerMessageType; message: ServerMessage<ServerMessageType> }
  | { kind: 'ignored'; type: string }
  | { kind: 'invalid'; reason: string }

/** Parses one text frame from the server. */
export function parseServerMessage(frame: string): ParsedServerMessage {
  let json: unknown
  try {
    json = JSON.parse(frame)
  } catch {
    return { kind: 'invalid', reason: 'not JSON' }
  }
  const head = z.looseObject({ type: z.string() }).safeParse(json)
  if (!head.success) return { kind: 'invalid', reason: 'no "type"' }
  const type = head.data.type
  if (!(type in SCHEMAS)) return { kind: 'ignored', type }
  const parsed = SCHEMAS[type as ServerMessageType].safeParse(json)
  if (!parsed.success) return { kind: 'invalid', reason: `bad ${type}: ${parsed.error.issues[0]?.message ?? 'invalid'}` }
  return { kind: 'known', type: type as ServerMessageType, message: parsed.data }
}

/** What a welcome asks of the client: stop with the server's error, or show its motd. */
export function readWelcome(message: ServerMessage<'welcome'>): { error?: string; motd?: string } {
  const { error, motd } = message.welcome
  return { error: error === undefined ? undefined : printable(error), motd: motd === undefined ? undefined : printable(motd) }
}
