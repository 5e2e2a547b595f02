'use client'
// Small REST helpers shared by the admin components: same-origin fetches with the editor's session
// cookie (Payload's `payload-token`), so Payload's own access control applies to every call.

import { useConfig } from '@payloadcms/ui'

export type Urls = { api: string; admin: string }

/** Absolute-or-relative base URLs of the REST API and the admin, from Payload's client config. */
export function useUrls(): Urls {
  const { config } = useConfig()
  const server = (config.serverURL || '').replace(/\/+$/, '')
  return { api: `${server}${config.routes.api}`, admin: `${server}${config.routes.admin}` }
}

export class RequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

/** The sentence Payload puts in an error response (validation messages included). */
export function payloadErrorMessage(body: any, status: number): string {
  const err = Array.isArray(body?.errors) ? body.errors[0] : undefined
  const detail = err?.data?.errors?.[0]
  if (detail?.message) return detail.path ? `${detail.path}: ${detail.message}` : String(detail.message)
  if (err?.message) return String(err.message)
  if (typeof body?.message === 'string') return body.message
  return `HTTP ${status}`
}

export async function requestJSON<T = any>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, {
    credentials: 'include',
    ...init,
    headers: { Accept: 'application/json', ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...init.headers },
  })
  let body: any = null
  try {
    body = await res.json()
  } catch {
    body = null
  }
  if (!res.ok) throw new RequestError(payloadErrorMessage(body, res.status), res.status)
  return body as T
}

export function formatBytes(n: unknown): string {
  const v = typeof n === 'number' ? n : Number(n)
  if (!Number.isFinite(v) || v < 0) return ''
  if (v < 1024) return `${v} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let x = v / 1024
  let i = 0
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024
    i++
  }
  return `${x < 10 ? x.toFixed(1) : Math.round(x)} ${units[i]}`
}
