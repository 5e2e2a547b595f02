'use client'
import React from 'react'

const COLORS: Record<string, string> = {
  succeeded: 'var(--theme-success-500, #2e7d32)',
  failed: 'var(--theme-error-500, #c62828)',
  running: 'var(--theme-elevation-800, #333)',
  queued: 'var(--theme-elevation-400, #999)',
}

export const STATUS_LABELS: Record<string, string> = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
}

/** An accessible progress bar (`role="progressbar"`, `aria-valuenow`). */
export function ProgressBar(props: { progress: number; status: string; compact?: boolean; label?: string }) {
  const { progress, status, compact } = props
  return (
    <div
      role="progressbar"
      aria-label={props.label ?? 'Export progress'}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={progress}
      aria-valuetext={`${progress}% (${status})`}
      data-status={status}
      style={{
        background: 'var(--theme-elevation-100, #eee)',
        borderRadius: 4,
        height: compact ? 6 : 10,
        overflow: 'hidden',
        width: '100%',
        minWidth: compact ? 80 : undefined,
      }}
    >
      <div
        style={{
          background: COLORS[status] ?? COLORS.running,
          height: '100%',
          transition: 'width 300ms ease-out',
          width: `${progress}%`,
        }}
      />
    </div>
  )
}
