/** The join code in a box, so it stands out among the status lines. */
export function codeBox(code: string, joinCommand: string): string[] {
  const lines = [`join code:  ${code}`, '', `  ${joinCommand}`]
  const width = Math.max(...lines.map((l) => l.length))
  return [`╭${'─'.repeat(width + 2)}╮`, ...lines.map((l) => `│ ${l.padEnd(width)} │`), `╰${'─'.repeat(width + 2)}╯`]
}
