import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'

/** One client's connection, as the fake sees it. */
export interface FakeClient {
  ws: WebSocket
  side: string | null
  send(message: Record<string, unknown>): void
}

export interface FakeMailboxOptions {
  /** What the welcome says (a MOTD, an error): the server's own words reach the terminal. */
  welcome?: Record<string, unknown>
  /**
   * Sees each client message first; returning true means the fake handled it (or chose to
   * misbehave), and the normal handling is skipped.
   */
  intercept?: (client: FakeClient, message: Record<string, unknown>) => boolean
}

export interface FakeMailbox {
  url: string
  /** Connections open now. */
  clients: Set<FakeClient>
  /** Connections opened since the start. */
  opened(): number
  close(): Promise<void>
}

interface Mailbox {
  messages: Array<{ side: string; phase: string; body: string }>
  subscribers: Set<FakeClient>
}

/**
 * An in-memory Magic Wormhole mailbox server, in the manner of wormhole-william's test
 * rendezvous server: just enough of the protocol for two clients to exchange a text, with
 * hooks that let a test make it (or a third party on it) misbehave, without Python.
 */
export async function startFakeMailbox(options: FakeMailboxOptions = {}): Promise<FakeMailbox> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const nameplates = new Map<string, { mailbox: string; sides: Set<string> }>()
  const mailboxes = new Map<string, Mailbox>()
  const clients = new Set<FakeClient>()

  const mailboxFor = (id: string): Mailbox => {
    let box = mailboxes.get(id)
    if (!box) {
      box = { messages: [], subscribers: new Set() }
      mailboxes.set(id, box)
    }
    return box
  }

  let opened = 0
  wss.on('connection', (ws) => {
    opened++
    const client: FakeClient = {
      ws,
      side: null,
      send: (message) => ws.send(JSON.stringify({ server_tx: Date.now() / 1000, ...message })),
    }
    clients.add(client)
    ws.on('close', () => clients.delete(client))
    ws.on('error', () => undefined)
    client.send({ type: 'welcome', welcome: options.welcome ?? {} })
    ws.on('message', (data) => {
      let message: Record<string, unknown>
      try {
        message = JSON.parse(data.toString())
      } catch {
        return
      }
      if (message.id !== undefined) client.send({ type: 'ack', id: message.id })
      if (options.intercept?.(client, message)) return
      switch (message.type) {
        case 'bind':
          client.side = String(message.side)
          return
        case 'allocate': {
          let n = 1
          while (nameplates.has(String(n))) n++
          const id = String(n)
          nameplates.set(id, { mailbox: randomBytes(8).toString('hex'), sides: new Set([client.side!]) })
          return client.send({ type: 'allocated', nameplate: id })
        }
        case 'list':
          return client.send({ type: 'nameplates', nameplates: [...nameplates.keys()].map((id) => ({ id })) })
        case 'claim': {
          const id = String(message.nameplate)
          let plate = nameplates.get(id)
          if (!plate) nameplates.set(id, (plate = { mailbox: randomBytes(8).toString('hex'), sides: new Set() }))
          plate.sides.add(client.side!)
          if (plate.sides.size > 2) return client.send({ type: 'error', error: 'crowded', orig: message })
          return client.send({ type: 'claimed', mailbox: plate.mailbox })
        }
        case 'open': {
          const box = mailboxFor(String(message.mailbox))
          box.subscribers.add(client)
          for (const m of box.messages) client.send({ type: 'message', ...m, id: randomBytes(2).toString('hex') })
          return
        }
        case 'add': {
          const box = [...mailboxes.values()].find((b) => b.subscribers.has(client))
          if (!box) return client.send({ type: 'error', error: 'must open first', orig: message })
          const m = { side: client.side!, phase: String(message.phase), body: String(message.body) }
          box.messages.push(m)
          for (const s of box.subscribers) s.send({ type: 'message', ...m, id: randomBytes(2).toString('hex') })
          return
        }
        case 'release': {
          for (const [id, plate] of nameplates) {
            plate.sides.delete(client.side!)
            if (plate.sides.size === 0) nameplates.delete(id)
          }
          return client.send({ type: 'released' })
        }
        case 'close': {
          for (const box of mailboxes.values()) box.subscribers.delete(client)
          return client.send({ type: 'closed' })
        }
        case 'ping':
          return client.send({ type: 'pong', pong: message.ping })
      }
    })
  })

  const { port } = wss.address() as AddressInfo
  return {
    url: `ws://127.0.0.1:${port}/v1`,
    clients,
    opened: () => opened,
    close: () =>
      new Promise((resolve) => {
        for (const c of clients) c.ws.terminate()
        wss.close(() => resolve())
      }),
  }
}
