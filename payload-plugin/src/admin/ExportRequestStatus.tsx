'use client'
// Edit view of an export request (the `status` field's component, top of the sidebar): live status
// and progress, the error sentence, the download link and size, "Re-run".

import { Banner, Button, useDocumentInfo, useForm } from '@payloadcms/ui'
import React, { useEffect, useRef, useState } from 'react'

import { isRerunnable } from '../vocabulary.js'
import { formatBytes, requestJSON, useSay, useUrls } from './api.js'
import { ProgressBar } from './ProgressBar.js'
import { StatusPill } from './StatusPill.js'
import { type ExportRequestDoc, type MediaDoc, useExportProgress } from './useExportProgress.js'

export type ExportRequestStatusProps = { exportRequestsSlug?: string; mediaSlug?: string }

/** The fields the service writes: kept in step with the live document, so they are never stale. */
const SYNCED_FIELDS = ['status', 'progress', 'stage', 'error', 'result', 'resultUrl', 'jobId', 'startedAt', 'finishedAt'] as const

const box: React.CSSProperties = {
  border: '1px solid var(--theme-elevation-150)',
  borderRadius: 'var(--style-radius-m)',
  padding: 'calc(var(--base) * 0.8)',
  marginBottom: 'var(--base)',
}

function useFormSync(live: ReturnType<typeof useExportProgress>) {
  const { dispatchFields } = useForm()
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
    for (const [path, value] of Object.entries(values)) dispatchFields({ type: 'UPDATE', path, value, initialValue: value } as any)
  }, [live.doc, live.transport, dispatchFields])
}

export function ExportRequestStatus(props: ExportRequestStatusProps) {
  const slug = props.exportRequestsSlug ?? 'export-requests'
  const { id, initialData } = useDocumentInfo() as { id?: number | string; initialData?: Record<string, unknown> }
  const urls = useUrls()
  const say = useSay()
  const live = useExportProgress(id, { api: urls.api, slug, initial: (initialData as ExportRequestDoc) ?? null })
  useFormSync(live)
  const [rerunning, setRerunning] = useState(false)
  const [rerunError, setRerunError] = useState<string | null>(null)

  if (id === undefined || id === null) {
    return (
      <section aria-label={say('exportStatus')} style={box}>
        <StatusPill status="queued" />
        <p style={{ margin: '6px 0 0' }}>{say('queuedHint')}</p>
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
      live.restart() // re-reads the document; the form's status fields follow it
    } catch (err: any) {
      setRerunError(err?.message ?? String(err))
    } finally {
      setRerunning(false)
    }
  }

  const result = live.doc?.result
  const media: MediaDoc | null = result && typeof result === 'object' ? result : null
  const href = media?.url ?? live.doc?.resultUrl ?? null
  const size = formatBytes(media?.filesize ?? media?.bytes)
  const { status, progress, stage } = live
  const transport = live.transport === 'socket' ? say('live') : live.transport === 'polling' ? say('polling') : ''

  return (
    <section aria-label={say('exportStatus')} data-export-status={status} style={box}>
      <div style={{ display: 'flex', gap: 12, alignItems: 'center', marginBottom: 8, flexWrap: 'wrap' }}>
        <strong data-testid="export-status">
          <StatusPill status={status} size="medium" />
        </strong>
        {stage ? <span data-testid="export-stage">{stage}</span> : null}
        <span data-testid="export-percent" style={{ marginLeft: 'auto', fontVariantNumeric: 'tabular-nums' }}>
          {progress}%
        </span>
      </div>
      <ProgressBar progress={progress} status={status} />
      <div style={{ color: 'var(--theme-elevation-500)', marginTop: 6 }} data-testid="export-transport">
        {transport}
      </div>
      {live.problem ? <Banner type="warning">{say('couldNotRead', { message: live.problem })}</Banner> : null}
      {status === 'failed' || status === 'cancelled' ? (
        <div style={{ marginTop: 12 }} role="alert" data-testid="export-error">
          <Banner type={status === 'failed' ? 'error' : 'warning'}>{live.error || say('exportFailed')}</Banner>
        </div>
      ) : null}
      {live.doc && isRerunnable(live.doc.status) ? (
        <Button buttonStyle="secondary" size="small" margin={false} disabled={rerunning} onClick={() => void rerun()}>
          {rerunning ? say('rerunning') : say('rerun')}
        </Button>
      ) : null}
      {rerunError ? (
        <div role="alert">
          <Banner type="error">{rerunError}</Banner>
        </div>
      ) : null}
      {status === 'succeeded' && href ? (
        <p style={{ margin: '12px 0 0' }}>
          <a href={href} download={media?.filename ?? true} data-testid="export-download">
            {say('downloadFile', { filename: media?.filename ?? say('export') })}
          </a>
          {size ? <span data-testid="export-size"> ({size})</span> : null}
        </p>
      ) : null}
    </section>
  )
}

export default ExportRequestStatus
