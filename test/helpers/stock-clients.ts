import { spawn } from 'node:child_process'

/** How a stock Magic Wormhole client (Python `wormhole`, `wormhole-william`) ended. */
export interface Ran {
  status: number | null
  stdout: string
  stderr: string
}

/**
 * Runs a stock client, killed after 30 s. `codeOn` names the stream its "Wormhole code is:"
 * line appears on, if any: `code` then resolves with the code, or fails if the client ends
 * without one.
 */
export function runStock(cmd: string, args: string[], codeOn?: 'stdout' | 'stderr'): { code: Promise<string>; done: Promise<Ran> } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: process.env.HOME ?? '/tmp' } })
  const out = { stdout: '', stderr: '' }
  let found: (code: string) => void = () => undefined
  const code = new Promise<string>((resolve) => (found = resolve))
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].setEncoding('utf8').on('data', (text: string) => {
      out[stream] += text
      const match = stream === codeOn ? /Wormhole code is: (\S+)/.exec(out[stream]) : null
      if (match) found(match[1]!)
    })
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const done = new Promise<Ran>((resolve) => {
    child.once('exit', (status) => {
      clearTimeout(timer)
      resolve({ status, ...out })
    })
    // A client that is not installed fails at once, saying so, instead of timing the test out.
    child.once('error', (err) => {
      clearTimeout(timer)
      resolve({ status: null, stdout: out.stdout, stderr: `${out.stderr}cannot run ${cmd}: ${err.message}` })
    })
  })
  // A client that ends without printing a code fails the wait rather than hanging it.
  const codeOrExit = Promise.race([code, done.then((r) => Promise.reject(new Error(`${cmd} exited ${r.status} without a code:\n${r.stderr}${r.stdout}`)))])
  codeOrExit.catch(() => undefined)
  return { code: codeOrExit, done }
}
