'use client'
// REST helpers shared by the admin components: same-origin fetches with the editor's session
// cookie, so Payload's own access control applies to every call.

import { useConfig, useTranslation } from '@payloadcms/ui'
import { formatAdminURL } from 'payload/shared'
import { useCallback } from 'react'

import type { PluginTranslationKey, PluginTranslationKeys, PluginTranslations } from '../translations/index.js'
import { NAMESPACE } from '../translations/index.js'

export type Urls = { api: string; admin: (path: `/${string}`) => string }

/** URLs of the REST API and of admin pages, from Payload's client config. */
export function useUrls(): Urls {
  const { config } = useConfig()
  const { serverURL, routes } = config
  return {
    api: formatAdminURL({ apiRoute: routes.api, serverURL, path: '' }),
    admin: (path) => formatAdminURL({ adminRoute: routes.admin, serverURL, path }),
  }
}

/** The plugin's sentences in the admin's language: `say('exportPdf')`. */
export function useSay(): (key: PluginTranslationKey, vars?: Record<string, unknown>) => string {
  const { t } = useTranslation<PluginTranslations, PluginTranslationKeys>()
  return useCallback((key, vars) => (t as any)(`${NAMESPACE}:${key}`, vars), [t])
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
  if (n === null || n === undefined || !Number.isFinite(v) || v < 0) return ''
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

/** `?a=1&where[project][equals]=2` from a nested object (Payload's qs shape). */
export function query(params: Record<string, unknown>, prefix = ''): string {
  const parts: string[] = []
  for (const [k, v] of Object.entries(params)) {
    const key = prefix ? `${prefix}[${k}]` : k
    if (v && typeof v === 'object') parts.push(query(v as Record<string, unknown>, key))
    else if (v !== undefined) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`)
  }
  return parts.filter(Boolean).join('&')
}
