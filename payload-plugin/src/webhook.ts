import { createHmac, timingSafeEqual } from 'node:crypto'

/** Name of the HTTP header carrying the signature. */
export const SIGNATURE_HEADER = 'X-Export-Signature'

/** hex HMAC-SHA256(secret, `${t}.${body}`) */
export function computeSignature(secret: string, t: number | string, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex')
}

/**
 * Signs a raw webhook body. Returns the value for the `X-Export-Signature` header:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 */
export function signWebhook(secret: string, body: string, t: number = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${computeSignature(secret, t, body)}`
}

export type VerifyOptions = {
  /** Max age of the timestamp in seconds (default 300). 0 or negative disables the check. */
  toleranceSec?: number
  /** "now" in unix seconds (for tests). */
  now?: number
}

/** Parses `t=...,v1=...` (several v1 entries allowed). */
export function parseSignatureHeader(header: string | null | undefined): { t: number; v1: string[] } | null {
  if (!header) return null
  let t: number | undefined
  const v1: string[] = []
  for (const part of header.split(',')) {
    const i = part.indexOf('=')
    if (i < 0) continue
    const k = part.slice(0, i).trim()
    const v = part.slice(i + 1).trim()
    if (k === 't' && /^\d+$/.test(v)) t = Number(v)
    else if (k === 'v1' && /^[0-9a-f]{64}$/i.test(v)) v1.push(v.toLowerCase())
  }
  if (t === undefined || v1.length === 0) return null
  return { t, v1 }
}

/** Verifies a raw body against an `X-Export-Signature` header value. */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string | null | undefined,
  opts: VerifyOptions = {},
): boolean {
  const parsed = parseSignatureHeader(header)
  if (!parsed) return false
  const tolerance = opts.toleranceSec ?? 300
  const now = opts.now ?? Math.floor(Date.now() / 1000)
  if (tolerance > 0 && Math.abs(now - parsed.t) > tolerance) return false
  const expected = Buffer.from(computeSignature(secret, parsed.t, body), 'hex')
  return parsed.v1.some((sig) => {
    const got = Buffer.from(sig, 'hex')
    return got.length === expected.length && timingSafeEqual(got, expected)
  })
}

// ---------------------------------------------------------------------------
// Document shaping

type AnyField = { type: string; name?: string; fields?: AnyField[]; tabs?: AnyField[]; hasMany?: boolean; relationTo?: string | string[] }

/** Top-level (data-wise) fields: descends into rows/collapsibles/unnamed tabs, not into named groups. */
export function topLevelDataFields(fields: readonly AnyField[]): AnyField[] {
  const out: AnyField[] = []
  for (const f of fields) {
    if ((f.type === 'row' || f.type === 'collapsible') && f.fields) out.push(...topLevelDataFields(f.fields))
    else if (f.type === 'tabs' && f.tabs) {
      for (const tab of f.tabs) {
        if (tab.name) out.push({ ...tab, type: 'group' })
        else if (tab.fields) out.push(...topLevelDataFields(tab.fields))
      }
    } else if (f.name) out.push(f)
  }
  return out
}

function idOf(v: unknown): unknown {
  if (v && typeof v === 'object' && 'id' in (v as Record<string, unknown>)) return (v as Record<string, unknown>).id
  return v
}

function reduceRelValue(v: unknown, polymorphic: boolean): unknown {
  if (v === null || v === undefined) return v ?? null
  if (polymorphic && typeof v === 'object' && 'relationTo' in (v as Record<string, unknown>)) {
    const r = v as { relationTo: string; value: unknown }
    return { relationTo: r.relationTo, value: idOf(r.value) }
  }
  return idOf(v)
}

/**
 * Returns a copy of `doc` with relationship/upload fields reduced to ids (the `depth: 0` shape),
 * recursing into groups and arrays.
 */
export function reduceToIds(doc: Record<string, unknown> | null | undefined, fields: readonly AnyField[]): Record<string, unknown> {
  if (!doc || typeof doc !== 'object') return {}
  const out: Record<string, unknown> = { ...doc }
  for (const f of topLevelDataFields(fields)) {
    const name = f.name as string
    if (!(name in out)) continue
    const v = out[name]
    if (f.type === 'relationship' || f.type === 'upload') {
      const poly = Array.isArray(f.relationTo)
      out[name] = Array.isArray(v) ? v.map((x) => reduceRelValue(x, poly)) : reduceRelValue(v, poly)
    } else if (f.type === 'group' && f.fields && v && typeof v === 'object') {
      out[name] = reduceToIds(v as Record<string, unknown>, f.fields)
    } else if (f.type === 'array' && f.fields && Array.isArray(v)) {
      out[name] = v.map((row) => reduceToIds(row as Record<string, unknown>, f.fields as AnyField[]))
    } else if (f.type === 'blocks' && Array.isArray(v)) {
      // blocks are left as-is (not used by export-requests)
    }
  }
  return out
}

/** Stable JSON for deep comparison (object keys sorted, undefined ≙ null). */
export function stableStringify(v: unknown): string {
  if (v === undefined || v === null) return 'null'
  if (v instanceof Date) return JSON.stringify(v.toISOString())
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v)
}

/** Keys never reported in `changedFields` (they change on every write). */
export const IGNORED_CHANGE_KEYS = new Set(['id', 'createdAt', 'updatedAt'])

/**
 * Names of top-level keys whose value differs between `doc` and `previousDoc`
 * (both expected in the depth-0 shape). `id`, `createdAt`, `updatedAt` are ignored;
 * missing and `null` count as equal. Sorted alphabetically.
 */
export function changedFields(doc: Record<string, unknown> | null | undefined, previousDoc: Record<string, unknown> | null | undefined): string[] {
  const a = doc ?? {}
  const b = previousDoc ?? {}
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  const out: string[] = []
  for (const k of keys) {
    if (IGNORED_CHANGE_KEYS.has(k)) continue
    if (stableStringify(a[k]) !== stableStringify(b[k])) out.push(k)
  }
  return out.sort()
}
