'use client'
// List view of export requests: the `progress` column as a bar, live while the request runs.

import React from 'react'

import { useUrls } from './api.js'
import { useListRow } from './listPoller.js'
import { ProgressBar } from './ProgressBar.js'
import { TERMINAL } from './useExportProgress.js'

export type ExportProgressCellProps = {
  rowData?: Record<string, any>
  cellData?: unknown
  exportRequestsSlug?: string
}

export function ExportProgressCell(props: ExportProgressCellProps) {
  const row = props.rowData
  const urls = useUrls()
  const slug = props.exportRequestsSlug ?? 'export-requests'
  const id = row?.id === undefined ? '' : String(row.id)
  const live = useListRow(`${urls.api}/${slug}`, id, {
    status: String(row?.status ?? 'queued'),
    progress: Number(row?.progress ?? props.cellData ?? 0),
    stage: row?.stage ?? null,
    error: row?.error ?? null,
  })
  if (!id) return <span>{String(props.cellData ?? '')}</span>
  return (
    <div style={{ display: 'flex', alignItems: 'center', gap: 8, minWidth: 140 }} title={live.error ?? undefined}>
      <ProgressBar compact progress={live.progress} status={live.status} />
      <span style={{ fontVariantNumeric: 'tabular-nums', whiteSpace: 'nowrap' }}>
        {live.progress}%{live.stage && !TERMINAL.has(live.status) ? ` · ${live.stage}` : ''}
      </span>
    </div>
  )
}

export default ExportProgressCell
