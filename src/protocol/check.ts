/**
 * The few validators that tickets, control messages, key files and options need. zod did
 * this before; its import alone was 95 files, about 7 MB of RSS and a good part of start-up
 * in every hub and peer, so it now loads only with the wormhole client.
 *
 * A check returns the value, typed, or throws CheckError with a message for people.
 */
export class CheckError extends Error {}

export type Check<T> = (value: unknown) => T
export type Checked<C> = C extends Check<infer T> ? T : never

function fail(message: string): never {
  throw new CheckError(message)
}

export function text(o: { min?: number; max?: number; pattern?: RegExp; message?: string } = {}): Check<string> {
  return (v) => {
    if (typeof v !== 'string') return fail(o.message ?? 'expected text')
    if (o.min !== undefined && v.length < o.min) return fail(o.message ?? `shorter than ${o.min} characters`)
    if (o.max !== undefined && v.length > o.max) return fail(o.message ?? `longer than ${o.max} characters`)
    if (o.pattern && !o.pattern.test(v)) return fail(o.message ?? 'not in the expected form')
    return v
  }
}

export function integer(min: number, max: number): Check<number> {
  return (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fail(`expected a whole number from ${min} to ${max}`))
}

export function oneOf<const T extends readonly (string | number | boolean)[]>(values: T, message?: string): Check<T[number]> {
  return (v) => ((values as readonly unknown[]).includes(v) ? (v as T[number]) : fail(message ?? `expected ${values.map((x) => JSON.stringify(x)).join(' or ')}`))
}

export function bytes(accept: (b: Uint8Array) => boolean, message: string): Check<Uint8Array> {
  return (v) => (v instanceof Uint8Array && accept(v) ? v : fail(message))
}

export function list<T>(item: Check<T>, o: { min?: number; minMessage?: string; max: number; maxMessage: string }): Check<T[]> {
  return (v) => {
    if (!Array.isArray(v)) return fail('expected a list')
    if (o.min !== undefined && v.length < o.min) return fail(o.minMessage ?? `fewer than ${o.min} items`)
    if (v.length > o.max) return fail(o.maxMessage)
    return v.map(item)
  }
}

export function optional<T>(check: Check<T>): Check<T | undefined> & { optional: true } {
  return Object.assign((v: unknown) => (v === undefined ? undefined : check(v)), { optional: true as const })
}

type Shape = Record<string, Check<unknown>>
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends { optional: true } ? K : never }[keyof S]
export type ObjectOf<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Checked<S[K]> } & { [K in OptionalKeys<S>]?: Checked<S[K]> }

/**
 * An object with these fields. `loose`: other fields are allowed and dropped (a later
 * version's additions); otherwise they are an error. Absent optional fields stay absent.
 * Messages name the field, unless `nameFields` is false (the checks' own messages say it).
 */
export function object<S extends Shape>(shape: S, o: { loose: boolean; nameFields?: boolean }): Check<ObjectOf<S>> {
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('expected an object')
    const input = v as Record<string, unknown>
    if (!o.loose) for (const key of Object.keys(input)) if (!(key in shape)) fail(`unexpected field "${key.slice(0, 40)}"`)
    const out: Record<string, unknown> = {}
    for (const [key, check] of Object.entries(shape)) {
      const value = Object.hasOwn(input, key) ? input[key] : undefined
      try {
        const checked = check(value)
        if (checked !== undefined) out[key] = checked
      } catch (err) {
        if (err instanceof CheckError) fail(o.nameFields === false ? err.message : `${key}: ${err.message}`)
        throw err
      }
    }
    return out as ObjectOf<S>
  }
}
