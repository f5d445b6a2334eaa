import { describe, expect, it } from 'vitest'
import { parseShareArgs } from '../../src/cli/share-args.js'
import { parseExposure } from '../../src/cli/expose.js'

const at = (port: number) => ({ host: '127.0.0.1', port, family: 4 })

describe('hive share arguments', () => {
  it('reads NAME SERVICE=HOST:PORT..., keeping the order given', () => {
    const args = parseShareArgs(['gpu-box', 'ollama=127.0.0.1:11434', 'web=127.0.0.1:3000'])
    expect(args.name).toBe('gpu-box')
    expect(Object.entries(args.services)).toEqual([
      ['ollama', at(11434)],
      ['web', at(3000)],
    ])
  })

  it('reads the older FRONTEND BACKEND WEBSOCKET NAME, - leaving one out', () => {
    expect(parseShareArgs(['127.0.0.1:3000', '-', '127.0.0.1:4000', 'my-hub'])).toEqual({ name: 'my-hub', services: { frontend: at(3000), websocket: at(4000) } })
    expect(() => parseShareArgs(['-', '-', '-', 'my-hub'])).toThrow(/share at least one/)
  })

  it.each([
    [['my-hub'], /no service to share/],
    [['127.0.0.1:3000', 'my-hub'], /no service to share/],
    [['web=127.0.0.1:3000', 'my-hub'], /name comes first/],
    [['my-hub', 'web=127.0.0.1:3000', 'api'], /"api": expected SERVICE=HOST:PORT/],
    [['my-hub', 'web=127.0.0.1:3000', 'web=127.0.0.1:3001'], /web is given twice/],
    [['my-hub', 'w b=127.0.0.1:3000'], /service name must be/],
    [['my-hub', '=127.0.0.1:3000'], /service name must be/],
    [['my-hub', 'web=-'], /give the address/],
    [['my-hub', 'web=localhost'], /web address/],
    [['bad name', 'web=127.0.0.1:1'], /hub name/],
  ])('refuses %j in one line that says what to do', (args, message) => {
    expect(() => parseShareArgs(args)).toThrow(message)
  })

  it('takes 255 services and refuses 256', () => {
    const many = (n: number) => ['h', ...Array.from({ length: n }, (_, i) => `s${i}=127.0.0.1:${1000 + i}`)]
    expect(Object.keys(parseShareArgs(many(255)).services)).toHaveLength(255)
    expect(() => parseShareArgs(many(256))).toThrow(/at most 255/)
  })
})

describe('hive join --expose, --skip and the older options', () => {
  const none = { expose: [], skip: [] }

  it('places services, skips others, and takes the older options as aliases', () => {
    expect(parseExposure({ ...none, expose: ['ollama=127.0.0.1:9999'], skip: ['db'], frontendAddr: '127.0.0.1:0', wsAddr: '-' })).toEqual({
      expose: { ollama: at(9999), frontend: at(0) },
      skip: ['websocket', 'db'],
      optionNames: { ollama: '--expose ollama=', frontend: '--frontend-addr', websocket: '--ws-addr' },
    })
  })

  it.each([
    [{ ...none, expose: ['ollama'] }, /expected SERVICE=HOST:PORT/],
    [{ ...none, expose: ['a b=127.0.0.1:1'] }, /service name must be/],
    [{ ...none, expose: ['frontend=127.0.0.1:1'], frontendAddr: '127.0.0.1:2' }, /frontend is placed twice/],
    [{ ...none, expose: ['web=127.0.0.1:1'], skip: ['web'] }, /--skip web contradicts/],
    [{ ...none, skip: ['../x'] }, /service name must be/],
    [{ ...none, expose: ['web=nowhere'] }, /--expose web "nowhere"/],
  ])('refuses %j', (opts, message) => {
    expect(() => parseExposure(opts)).toThrow(message)
  })
})
