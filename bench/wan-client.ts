import { freshRequest } from './measure.js'

/**
 * The WAN bench's HTTP client, run inside the client namespace:
 * `wan-client.js fresh HOST PORT RUNS` prints {"ms": median} of requests on fresh connections.
 */
const [task, host, port, runs] = process.argv.slice(2)
if (task !== 'fresh' || !host || !port || !runs) {
  process.stderr.write('usage: wan-client.js fresh HOST PORT RUNS\n')
  process.exit(2)
}
freshRequest(Number(port), Number(runs), host).then(
  (ms) => process.stdout.write(JSON.stringify({ ms }) + '\n'),
  (err: unknown) => {
    process.stderr.write(`wan-client: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  },
)
