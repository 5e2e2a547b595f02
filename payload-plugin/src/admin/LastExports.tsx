'use client'
// The project's last exports: type, status, when, by whom, and the download link when finished.

import React, { useEffect, useState } from 'react'

import type { PluginTranslationKey } from '../translations/index.js'
import { query, requestJSON, useSay, useUrls } from './api.js'
import { StatusPill } from './StatusPill.js'

type Row = {
  id: number | string
  type?: string
  status?: string
  createdAt?: string
  requestedBy?: { id: number | string; email?: string; name?: string } | number | string | null
  result?: { url?: string | null; filename?: string | null } | number | string | null
}

const who = (u: Row['requestedBy']) => (u && typeof u === 'object' ? (u.name ?? u.email ?? `#${u.id}`) : u != null ? `#${u}` : '')

export function LastExports(props: { project: number | string; slug: string; limit: number }) {
  const urls = useUrls()
  const say = useSay()
  const [rows, setRows] = useState<Row[] | null>(null)

  useEffect(() => {
    let cancelled = false
    const qs = query({ where: { project: { equals: props.project } }, sort: '-createdAt', limit: props.limit, depth: 1 })
    requestJSON<{ docs: Row[] }>(`${urls.api}/${props.slug}?${qs}`)
      .then((res) => !cancelled && setRows(res.docs))
      .catch(() => !cancelled && setRows([]))
    return () => {
      cancelled = true
    }
  }, [props.project, props.slug, props.limit, urls.api])

  if (rows === null) return null
  return (
    <div aria-label={say('lastExports')} role="region" data-testid="last-exports">
      <strong>{say('lastExports')}</strong>
      {rows.length === 0 ? <p style={{ margin: '4px 0 0' }}>{say('noExports')}</p> : null}
      <ul style={{ listStyle: 'none', margin: '6px 0 0', padding: 0, display: 'grid', gap: 6 }}>
        {rows.map((r) => {
          const result = r.result && typeof r.result === 'object' ? r.result : null
          const when = r.createdAt ? new Date(r.createdAt).toLocaleString() : ''
          const by = who(r.requestedBy)
          return (
            <li key={String(r.id)} style={{ display: 'grid', gap: 2 }}>
              <span style={{ display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap' }}>
                <a href={urls.admin(`/collections/${props.slug}/${encodeURIComponent(String(r.id))}`)}>
                  {say((r.type ?? 'export') as PluginTranslationKey)}
                </a>
                <StatusPill status={String(r.status ?? 'queued')} />
              </span>
              <small style={{ color: 'var(--theme-elevation-600)' }}>
                {when}
                {by ? ` · ${say('by', { name: by })}` : ''}
                {r.status === 'succeeded' && result?.url ? (
                  <>
                    {' · '}
                    <a href={result.url} download={result.filename ?? true}>
                      {say('download')}
                    </a>
                  </>
                ) : null}
              </small>
            </li>
          )
        })}
      </ul>
    </div>
  )
}
