import { execFileSync } from 'node:child_process'

/**
 * Network namespaces that a test makes for itself, and removes. Inside them the tests use
 * loopback, or addresses from 198.18.0.0/15 (or 100.64.0.0/10 where a library refuses that
 * range): nothing a test does there can reach any other network.
 */
const made = new Set<string>()
let counter = 0

/** True when this process may create namespaces (CI runs as root). */
export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' })
}

/** Runs a command inside a namespace and returns its output. */
export function inNetns(ns: string, cmd: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' })
}

/** A fresh namespace with loopback up; removed by removeNetns or removeAllNetns. */
export function makeNetns(label: string): string {
  const name = `hive-${label}-${process.pid}-${counter++}`
  ip('netns', 'add', name)
  made.add(name)
  ip('-n', name, 'link', 'set', 'lo', 'up')
  return name
}

export function removeNetns(name: string): void {
  try {
    ip('netns', 'del', name)
  } catch {
    // Already gone.
  }
  made.delete(name)
}

export function removeAllNetns(): void {
  for (const name of [...made]) removeNetns(name)
}
