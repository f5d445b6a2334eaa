import { readFileSync } from 'node:fs'

/**
 * The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses):
 * state, ppid, pgrp, session, tty_nr, tpgid, ... Null where there is no /proc (not Linux) or
 * no such process.
 */
function statFields(pid: number | 'self'): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

const PGRP = 2
const TPGID = 5

/**
 * Whether this process and process `pid` are both in their terminal's foreground process
 * group: a Ctrl+C there then signals both at once, so the other one needs no copy of it.
 * False off a terminal, in the background, or where /proc cannot tell.
 */
export function bothInForeground(pid: number): boolean {
  const self = statFields('self')
  const other = statFields(pid)
  if (!self || !other) return false
  const foreground = self[TPGID]
  return foreground !== undefined && foreground !== '-1' && foreground !== '0' && self[PGRP] === foreground && other[PGRP] === foreground
}
