import { printableLine } from '../printable.js'

/**
 * Everything the CLI shows. stdout carries data only (the ticket, or JSON events with
 * --json); people read stderr. -q leaves only errors and data. Human lines may embed text
 * from the other side, so every one is stripped of control characters on its way out;
 * JSON events stay JSON, whose encoding escapes them.
 */
export class Reporter {
  constructor(
    private readonly json: boolean,
    private readonly quiet: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  /** A status line for people. */
  status(line: string): void {
    if (!this.quiet) this.err.write(printableLine(line) + '\n')
  }

  /** An error line for people; shown even with -q. */
  error(line: string): void {
    this.err.write(printableLine(line) + '\n')
  }

  /** A question for the person at the terminal: no newline, shown even with -q. */
  prompt(text: string): void {
    this.err.write(printableLine(text))
  }

  /** One NDJSON event on stdout with --json; nothing otherwise. */
  event(type: string, fields: Record<string, unknown>): void {
    if (this.json) this.out.write(JSON.stringify({ event: type, ...fields }) + '\n')
  }

  /** Data for stdout in human mode (the ticket); --json carries it in an event instead. */
  data(line: string): void {
    if (!this.json) this.out.write(line + '\n')
  }
}
