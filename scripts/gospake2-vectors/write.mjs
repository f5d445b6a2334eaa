import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { spake2Start, spake2Keys } from '../../build/wormhole/spake2.js'
const hex = (b) => Buffer.from(b).toString('hex')
const appid = 'lothar.com/wormhole/text-or-file-xfer'
const cases = []
for (const [pw, fill] of [['7-guitarist-revenge', 0x11], ['4-purple-sausages', 0x5a]]) {
  const ours = spake2Start(new TextEncoder().encode(pw), new Uint8Array(64).fill(fill))
  const lines = execFileSync(process.env.KAT ?? '/tmp/kat', [pw, appid, hex(ours.message), '1500'], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n')
  let zeros = 0, normals = 0, goShort = 0
  for (const line of lines) {
    const [j, , msg, goKey] = line.split(' ')
    const k = spake2Keys(ours.state, Buffer.from(msg, 'hex'), new TextEncoder().encode(appid))
    const base = { code: pw, our_entropy_fill: fill, our_message: hex(ours.message), go_scalar_seed: `go-scalar-${j}`, go_message: msg, go_key: goKey }
    if (k.gospake2Key && zeros < 3) { zeros++; cases.push({ ...base, note: 'K encodes with a zero top byte: gospake2 differs' }) }
    else if (!k.gospake2Key && msg.endsWith('00') && goShort < 1) { goShort++; cases.push({ ...base, note: "gospake2's own element encodes with a zero top byte: harmless" }) }
    else if (!k.gospake2Key && normals < 1) { normals++; cases.push({ ...base, note: 'the keys agree' }) }
  }
}
writeFileSync(new URL('../../test/fixtures/gospake2-vectors.json', import.meta.url), JSON.stringify({
  about: 'Known answers of gospake2 (salsa.debian.org/vasudev/gospake2, Debian golang-debian-vasudev-gospake2-dev 0.2.1), the SPAKE2 of wormhole-william, made by scripts/gospake2-vectors/main.go. Our side is spake2Start(code, 64 bytes of our_entropy_fill); the Go side\'s scalar is sha512(go_scalar_seed) mod L.',
  appid, cases }, null, 2) + '\n')
console.log(cases.length, cases.map((c) => c.note))
