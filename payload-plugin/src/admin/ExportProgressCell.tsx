'use client'
// List view of export requests: the `progress` column as a (live, while running) bar.

import React from 'react'

import { useUrls } from './api.js'
import { ProgressBar } from './ProgressBar.js'
import { type ExportRequestDoc, TERMINAL, useExportProgress } from './useExportProgress.js'

export type ExportProgressCellProps = {
  rowData?: ExportRequestDoc
  cellData?: unknown
  exportRequestsSlug?: string
}

function Bar(props: { progress: number; status: string; stage?: string | null; title?: string | null }) {
  return (
    <div style={{ display: 'flex', alignItems: 'center', gap: 8, minWidth: 140 }} title={props.title ?? undefined}>
      <ProgressBar compact progress={props.progress} status={props.status} />
      <span style={{ fontVariantNumeric: 'tabular-nums', whiteSpace: 'nowrap', fontSize: 12 }}>
        {props.progress}%{props.stage && !TERMINAL.has(props.status) ? ` · ${props.stage}` : ''}
      </span>
    </div>
  )
}

function LiveBar(props: { row: ExportRequestDoc; slug: string }) {
  const urls = useUrls()
  const live = useExportProgress(props.row.id, { urls, slug: props.slug, initial: props.row })
  return <Bar progress={live.progress} status={live.status} stage={live.stage} title={live.error} />
}

export function ExportProgressCell(props: ExportProgressCellProps) {
  const row = props.rowData
  const slug = props.exportRequestsSlug ?? 'export-requests'
  if (!row || row.id === undefined) return <span>{String(props.cellData ?? '')}</span>
  const status = String(row.status ?? 'queued')
  if (TERMINAL.has(status)) {
    return <Bar progress={Number(row.progress ?? 0)} status={status} title={row.error ?? null} />
  }
  return <LiveBar row={row} slug={slug} />
}

export default ExportProgressCell
