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

let swept = false

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes the namespaces of test processes that are gone (a run killed before its cleanup), with
 * whatever still runs in them. Their links would otherwise stay: a leftover 198.19.N.0/30 route
 * in the root namespace sends the next run's traffic into a dead lab.
 */
export function sweepDeadNetns(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const match = /^(hive-[a-z0-9]+-(\d+)-\d+)(\s|$)/.exec(line)
    if (!match || alive(Number(match[2]))) continue
    const name = match[1]!
    try {
      for (const pid of ip('netns', 'pids', name).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL')
    } catch {
      // Nothing left running in it.
    }
    removeNetns(name)
  }
}

/** A fresh namespace with loopback up; removed by removeNetns or removeAllNetns. */
export function makeNetns(label: string): string {
  if (!swept) {
    swept = true
    sweepDeadNetns()
  }
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
