'use client'
import React from 'react'

import { useSay } from './api.js'

const COLORS: Record<string, string> = {
  succeeded: 'var(--theme-success-500)',
  failed: 'var(--theme-error-500)',
  cancelled: 'var(--theme-warning-500)',
  running: 'var(--theme-elevation-800)',
  queued: 'var(--theme-elevation-400)',
}

/** An accessible progress bar (`role="progressbar"`, `aria-valuenow`); @payloadcms/ui has none. */
export function ProgressBar(props: { progress: number; status: string; compact?: boolean }) {
  const say = useSay()
  const { progress, status, compact } = props
  return (
    <div
      role="progressbar"
      aria-label={say('exportProgress')}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={progress}
      aria-valuetext={`${progress}% (${status})`}
      data-status={status}
      style={{
        background: 'var(--theme-elevation-100)',
        borderRadius: 'var(--style-radius-s)',
        height: compact ? 6 : 10,
        overflow: 'hidden',
        width: '100%',
        minWidth: compact ? 80 : undefined,
      }}
    >
      <div style={{ background: COLORS[status] ?? COLORS.running, height: '100%', transition: 'width 300ms ease-out', width: `${progress}%` }} />
    </div>
  )
}
