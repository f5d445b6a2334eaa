import { decodeTicket, encodeTicket } from '../../src/protocol/ticket.js'

/** The same ticket with some fields changed and a valid checksum, as a forger would make it. */
export function resign(ticket: string, change: Partial<Parameters<typeof encodeTicket>[0]>): string {
  const { peerId: _peerId, ...fields } = decodeTicket(ticket)
  return encodeTicket({ ...fields, ...change })
}

/** The ticket pointed at another address, such as an impairment proxy in front of the hub. */
export function via(ticket: string, address: string): string {
  return resign(ticket, { addresses: [address] })
}

/** The UDP port of the hub's first address in a ticket. */
export function hubPort(ticket: string): number {
  return Number(decodeTicket(ticket).addresses[0]!.split(':').pop())
}
