import { readSync } from 'node:fs'
import type { Socket } from 'node:net'

/**
 * Whether a socket's 'end' was really a reset. Node 20 and 22 (libuv before 1.52) report a
 * TCP RST that arrives while data is still unread as a clean 'end': libuv drains the data,
 * then takes the hang-up for EOF without the read that would have returned ECONNRESET. The
 * error is still pending in the kernel, so one more read on the descriptor tells the two
 * apart: 0 after a FIN (even if a reset followed it), ECONNRESET after a reset. Forwarding
 * such an 'end' as a FIN would make a cut-off response look complete.
 *
 * Call it synchronously from the 'end' handler, before anything else touches the socket.
 */
export function endWasReset(socket: Socket): boolean {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd
  if (typeof fd !== 'number' || fd < 0) return false
  try {
    // Past the end there is nothing left to read: a byte here means we do not know the stream.
    return readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ECONNRESET'
  }
}
