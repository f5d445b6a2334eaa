import { describe, expect, it } from 'vitest'
import { commandAfterDashes, serviceEnv } from '../../src/cli/child-command.js'

describe('the command after --', () => {
  it('is the operands after the first --', () => {
    const argv = ['node', 'hive', 'join', 'p', '--ticket', 'x', '--', 'npm', 'test', '--', '-x']
    expect(commandAfterDashes(argv, ['npm', 'test', '--', '-x'])).toEqual(['npm', 'test', '--', '-x'])
    expect(commandAfterDashes(['node', 'hive', 'share', 'h', 'a=1:2', '--', 'sh'], ['h', 'a=1:2', 'sh'])).toEqual(['sh'])
    expect(commandAfterDashes(['node', 'hive', 'join', 'p', 'extra'], ['extra'])).toEqual([])
    expect(commandAfterDashes(['node', 'hive', 'join', 'p', '--'], [])).toEqual([])
  })

  it('gets HIVE_<SERVICE>_ADDR and _URL, names upper-cased with other characters as _', () => {
    const at = (port: number) => ({ host: '127.0.0.1', port, family: 4 as const })
    expect(serviceEnv({ 'db-admin': at(1), websocket: at(2), 'v1.api': at(3), ip6: { host: '::1', port: 4, family: 6 } })).toEqual({
      HIVE_DB_ADMIN_ADDR: '127.0.0.1:1',
      HIVE_DB_ADMIN_URL: 'http://127.0.0.1:1',
      HIVE_WEBSOCKET_ADDR: '127.0.0.1:2',
      HIVE_WEBSOCKET_URL: 'ws://127.0.0.1:2',
      HIVE_V1_API_ADDR: '127.0.0.1:3',
      HIVE_V1_API_URL: 'http://127.0.0.1:3',
      HIVE_IP6_ADDR: '[::1]:4',
      HIVE_IP6_URL: 'http://[::1]:4',
    })
  })
})
