/** Hub and peer names: short, printable, safe to put in a log line or a shell command. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name)
}

export const NAME_RULE = '1 to 63 characters: letters, digits, ".", "_" or "-", starting with a letter or digit'
