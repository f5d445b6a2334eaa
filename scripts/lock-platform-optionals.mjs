#!/usr/bin/env node
// Records, in package-lock.json, the platform-specific optional dependencies that npm could
// not resolve on this registry (npm/cli#9846: `npm install` leaves them out, then `npm ci`
// rejects the lockfile as out of sync). Each gets its version and the os/cpu/libc its name
// encodes, so `npm ci` accepts the lockfile and skips them on other platforms as usual.
// Run after every `npm install` that rewrites the lockfile: `node scripts/lock-platform-optionals.mjs`.
import { readFileSync, writeFileSync } from 'node:fs'

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openbsd', 'openharmony', 'sunos', 'aix']
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'loong64', 'ppc64', 'riscv64', 's390x']

function platformOf(name) {
  const parts = name.split('/').pop().split('-')
  const os = parts.find((p) => OS.includes(p))
  const cpu = parts.find((p) => CPU.includes(p))
  if (!os || !cpu) return null
  const libc = parts.some((p) => p.startsWith('musl')) ? 'musl' : os === 'linux' && parts.some((p) => p.startsWith('gnu')) ? 'glibc' : null
  return { os: [os], cpu: [cpu], ...(libc ? { libc: [libc] } : {}) }
}

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
const packages = lock.packages
let added = 0
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`
    if (packages[key] || packages[`${path}/${key}`]) continue
    const platform = platformOf(name)
    if (!platform || !/^\d+\.\d+\.\d+$/.test(version)) continue
    packages[key] = { version, ...platform, ...(entry.dev ? { dev: true } : {}), optional: true }
    added++
  }
}
const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)))
lock.packages = sorted
writeFileSync('package-lock.json', JSON.stringify(lock, null, 2) + '\n')
console.log(`recorded ${added} platform-specific optional dependencies`)
