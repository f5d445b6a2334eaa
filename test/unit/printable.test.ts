import { describe, expect, it } from 'vitest'
import { printable, printableLine } from '../../src/printable.js'

describe('printable remote text', () => {
  it.each([
    ['plain text', 'peer left', 'peer left'],
    ['an ESC sequence that clears the screen', '\u001b[2J\u001b[Hpwned', '?[2J?[Hpwned'],
    ['a CR that overwrites the line', 'fine\r+ peer `admin` joined', 'fine?+ peer `admin` joined'],
    ['a newline that fakes a second line', 'bye\nhive: token stolen', 'bye?hive: token stolen'],
    ['C1 controls and DEL', 'a\u009bb\u007fc', 'a?b?c'],
    ['a bidi override', 'abc\u202egnp.exe', 'abc?gnp.exe'],
    ['a lone surrogate', 'x\uD800y', 'x\uFFFDy'],
    ['emoji stay', 'ok 🐝', 'ok 🐝'],
  ])('%s', (_name, input, expected) => {
    expect(printable(input)).toBe(expected)
  })

  it('cuts long text, never through a surrogate pair, and looks only at the head of a huge input', () => {
    expect(printable('x'.repeat(500), 10)).toBe(`${'x'.repeat(10)}…`)
    expect(printable(`${'x'.repeat(9)}🐝tail`, 10)).toBe(`${'x'.repeat(9)}…`)
    const huge = 'y'.repeat(64 * 1024 * 1024)
    const started = performance.now()
    expect(printable(huge)).toHaveLength(201)
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('printableLine strips controls from a whole line and keeps its length', () => {
    expect(printableLine('╭─ join code: 5-x \u001b]0;title\u0007')).toBe('╭─ join code: 5-x ?]0;title?')
  })
})
