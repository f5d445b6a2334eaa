import { printableLine } from '../printable.js'

/**
 * Everything the CLI shows. stdout carries data only (the ticket, or JSON events with
 * --json); people read stderr. -q leaves only errors and data. Human lines may embed text
 * from the other side, so every one is stripped of control characters on its way out;
 * JSON events stay JSON, whose encoding escapes them.
 */
export class Reporter {
  /** On a terminal (not with --json or -q): one line kept up to date below the others. */
  readonly liveView: boolean
  /** Both outputs are the same terminal: data shown in the status lines is not written twice. */
  private readonly oneTerminal: boolean
  private liveText = ''

  constructor(
    private readonly json: boolean,
    private readonly quiet: boolean,
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
    private readonly err: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  ) {
    this.liveView = err.isTTY === true && !json && !quiet
    this.oneTerminal = err.isTTY === true && out.isTTY === true && !quiet
  }

  /** A status line for people. */
  status(line: string): void {
    if (!this.quiet) this.above(printableLine(line) + '\n')
  }

  /** An error line for people; shown even with -q. */
  error(line: string): void {
    this.above(printableLine(line) + '\n')
  }

  /** A question for the person at the terminal: no newline, shown even with -q. */
  prompt(text: string): void {
    this.above(printableLine(text))
  }

  /** Replaces the live line (on a terminal only); '' takes it away. */
  live(text: string): void {
    if (!this.liveView) return
    this.liveText = printableLine(text)
    this.err.write(`\r\x1b[K${this.liveText}`)
  }

  /** Writes above the live line: clear it, write, draw it again. */
  private above(text: string): void {
    if (!this.liveText) return void this.err.write(text)
    this.err.write(`\r\x1b[K${text}${text.endsWith('\n') ? this.liveText : ''}`)
    if (!text.endsWith('\n')) this.liveText = ''
  }

  /** One NDJSON event on stdout with --json; nothing otherwise. */
  event(type: string, fields: Record<string, unknown>): void {
    if (this.json) this.out.write(JSON.stringify({ event: type, ...fields }) + '\n')
  }

  /** A warning: a status line for people, and with --json a `warning` event (`service`: the one it concerns). */
  warning(message: string, service: string | null = null): void {
    this.status(`warning: ${message}`)
    this.event('warning', { message, service })
  }

  /** A line of a listing (`hive peers`, `hive hubs`): stdout in human mode; --json gives an event instead. */
  listing(line: string): void {
    if (!this.json) this.out.write(printableLine(line) + '\n')
  }

  /**
   * Data for stdout in human mode (the ticket); --json carries it in an event instead. On one
   * terminal the status lines already show it, so it is not written a second time.
   */
  data(line: string): void {
    if (!this.json && !this.oneTerminal) this.out.write(line + '\n')
  }
}
