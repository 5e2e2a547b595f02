'use client'
// Edit view of an export request (the `status` field's component, in the sidebar): live progress,
// the error sentence, the download link and size, "Re-run".

import { useDocumentInfo, useForm } from '@payloadcms/ui'
import React, { useEffect, useRef, useState } from 'react'

import { formatBytes, requestJSON, useUrls } from './api.js'
import { ProgressBar, STATUS_LABELS } from './ProgressBar.js'
import { type ExportRequestDoc, type MediaDoc, useExportProgress } from './useExportProgress.js'

export type ExportRequestStatusProps = { exportRequestsSlug?: string; mediaSlug?: string }

const SYNCED_FIELDS = ['status', 'progress', 'stage', 'error', 'result', 'resultUrl', 'jobId', 'startedAt', 'finishedAt'] as const

const box: React.CSSProperties = {
  border: '1px solid var(--theme-elevation-150, #ddd)',
  borderRadius: 'var(--style-radius-m, 4px)',
  padding: 'calc(var(--base, 20px) * 0.8)',
  marginBottom: 'var(--base, 20px)',
}

export function ExportRequestStatus(props: ExportRequestStatusProps) {
  const slug = props.exportRequestsSlug ?? 'export-requests'
  const { id, data } = useDocumentInfo()
  const urls = useUrls()
  const live = useExportProgress(id, { urls, slug, initial: (data as ExportRequestDoc) ?? null })
  const { dispatchFields } = useForm()
  const [rerunning, setRerunning] = useState(false)

  // Keep the form's own status fields (sidebar) in step with the document the panel re-reads, so
  // they never show stale values and a later "Save" does not send them back.
  const synced = useRef<string>('')
  useEffect(() => {
    const doc = live.doc
    if (!doc || live.transport === 'loading') return
    const values: Record<string, unknown> = {}
    for (const f of SYNCED_FIELDS) {
      const v = doc[f]
      values[f] = v && typeof v === 'object' && 'id' in (v as any) ? (v as any).id : (v ?? null)
    }
    const key = JSON.stringify(values)
    if (key === synced.current) return
    synced.current = key
    for (const [path, value] of Object.entries(values)) dispatchFields({ type: 'UPDATE', path, value, initialValue: value })
  }, [live.doc, live.transport, dispatchFields])
  const [rerunError, setRerunError] = useState<string | null>(null)

  if (id === undefined || id === null) {
    return (
      <section aria-label="Export status" style={box}>
        <strong>Queued</strong>
        <p style={{ margin: '6px 0 0', fontSize: 13 }}>The export service starts the export when you save this request.</p>
      </section>
    )
  }

  const rerun = async () => {
    setRerunning(true)
    setRerunError(null)
    try {
      await requestJSON(`${urls.api}/${slug}/${encodeURIComponent(String(id))}?depth=0`, {
        method: 'PATCH',
        body: JSON.stringify({ status: 'queued' }),
      })
      // Reload so the form below shows the reset document too (saving a stale form would be refused).
      window.location.reload()
    } catch (err: any) {
      setRerunError(err?.message ?? String(err))
      setRerunning(false)
    }
  }

  const result = live.doc?.result
  const media: MediaDoc | null = result && typeof result === 'object' ? result : null
  const href = media?.url ?? live.doc?.resultUrl ?? null
  const size = formatBytes(media?.filesize ?? media?.bytes)
  const { status, progress, stage } = live

  return (
    <section aria-label="Export status" data-export-status={status} style={box}>
      <div style={{ display: 'flex', gap: 12, alignItems: 'baseline', marginBottom: 8, flexWrap: 'wrap' }}>
        <strong data-testid="export-status">{STATUS_LABELS[status] ?? status}</strong>
        {stage ? <span data-testid="export-stage" style={{ color: 'var(--theme-elevation-650, #666)' }}>{stage}</span> : null}
        <span data-testid="export-percent" style={{ marginLeft: 'auto', fontVariantNumeric: 'tabular-nums' }}>
          {progress}%
        </span>
      </div>
      <ProgressBar progress={progress} status={status} />
      <div style={{ fontSize: 12, color: 'var(--theme-elevation-500, #888)', marginTop: 6 }} data-testid="export-transport">
        {live.transport === 'socket' ? 'live' : live.transport === 'polling' ? 'updating every few seconds' : ''}
      </div>
      {live.problem ? <p style={{ color: 'var(--theme-error-500, #c62828)' }}>{live.problem}</p> : null}
      {status === 'failed' ? (
        <div style={{ marginTop: 12 }}>
          <p role="alert" data-testid="export-error" style={{ color: 'var(--theme-error-500, #c62828)', margin: '0 0 12px' }}>
            {live.error || 'The export failed.'}
          </p>
          {live.doc && String(live.doc.status) === 'failed' ? (
            <button
              type="button"
              className="btn btn--style-secondary btn--size-small btn--withoutPopup"
              style={{ margin: 0 }}
              disabled={rerunning}
              onClick={() => void rerun()}
            >
              <span className="btn__content">
                <span className="btn__label">{rerunning ? 'Re-running…' : 'Re-run'}</span>
              </span>
            </button>
          ) : null}
          {rerunError ? <p role="alert" style={{ color: 'var(--theme-error-500, #c62828)' }}>{rerunError}</p> : null}
        </div>
      ) : null}
      {status === 'succeeded' && href ? (
        <p style={{ margin: '12px 0 0' }}>
          <a href={href} download={media?.filename ?? true} data-testid="export-download">
            Download {media?.filename ?? 'the export'}
          </a>
          {size ? <span data-testid="export-size"> ({size})</span> : null}
        </p>
      ) : null}
    </section>
  )
}

export default ExportRequestStatus
