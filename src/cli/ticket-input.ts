import { HiveError } from '../errors.js'

const MAX_TICKET_CHARS = 8192

/**
 * `--ticket T`, `--ticket -` (stdin), or HIVE_TICKET; the flag beats the environment. On a
 * terminal, `-` asks for the ticket, which keeps it out of the process list and the history.
 */
export async function readTicketText(flag: string | undefined, env: NodeJS.ProcessEnv, stdin: NodeJS.ReadableStream & { isTTY?: boolean }, prompt?: (text: string) => void): Promise<string> {
  const value = flag ?? env.HIVE_TICKET
  if (value === undefined || value.trim() === '') {
    throw new HiveError('USAGE', 'no ticket: pass --ticket TICKET (or - to read it from stdin), set HIVE_TICKET, or pass --join-code CODE')
  }
  if (value !== '-') return value.trim()
  if (stdin.isTTY) prompt?.('paste the ticket, then press Enter: ')
  let text = ''
  for await (const chunk of stdin) {
    text += chunk.toString()
    if (text.length > MAX_TICKET_CHARS) throw new HiveError('TICKET_INVALID', 'stdin holds more than a ticket: pipe in only the ticket')
    if (text.includes('\n') && text.trim() !== '') break
  }
  const line = text.trim().split(/\s+/)[0] ?? ''
  if (line === '') throw new HiveError('USAGE', '--ticket -: stdin was empty; pipe the ticket in')
  return line
}
