'use client'
// Project edit view: "Export PDF", "Export ZIP" (+ include media) and "Export video". Each click
// creates an export request for this project as the logged-in editor and opens it.

import { useDocumentInfo } from '@payloadcms/ui'
import React, { useState } from 'react'

import { requestJSON, useUrls } from './api.js'

export type ExportActionsProps = {
  exportRequestsSlug?: string
  timelineField?: string
  videoPresets?: string[]
}

type Kind = 'project-pdf' | 'project-zip' | 'video'

/** Why a video cannot be exported from this project's saved data, or null when it can. */
export function videoUnavailableReason(timeline: unknown): string | null {
  const clips = timeline && typeof timeline === 'object' ? (timeline as any).clips : undefined
  if (!timeline) return 'This project has no timeline: add clips to its timeline to export a video.'
  if (!Array.isArray(clips) || clips.length === 0) return 'The project’s timeline has no clips.'
  return null
}

function ActionButton(props: { label: string; busy: boolean; disabled?: boolean; title?: string; onClick: () => void; describedBy?: string }) {
  return (
    <button
      type="button"
      className="btn btn--style-primary btn--size-small btn--withoutPopup"
      style={{ margin: 0, width: '100%' }}
      disabled={props.disabled || props.busy}
      title={props.title}
      aria-describedby={props.describedBy}
      onClick={props.onClick}
    >
      <span className="btn__content">
        <span className="btn__label">{props.busy ? 'Creating…' : props.label}</span>
      </span>
    </button>
  )
}

export function ExportActions(props: ExportActionsProps) {
  const slug = props.exportRequestsSlug ?? 'export-requests'
  const presets = props.videoPresets?.length ? props.videoPresets : ['720p-h264']
  const { id, data } = useDocumentInfo()
  const urls = useUrls()
  const [busy, setBusy] = useState<Kind | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [includeMedia, setIncludeMedia] = useState(true)
  const [preset, setPreset] = useState(presets[0])

  const wrap: React.CSSProperties = {
    display: 'flex',
    flexDirection: 'column',
    gap: 10,
    marginBottom: 'var(--base, 20px)',
  }
  if (id === undefined || id === null) {
    return (
      <div style={wrap}>
        <strong>Export</strong>
        <p style={{ margin: 0 }}>Save the project to export it.</p>
      </div>
    )
  }

  const videoReason = videoUnavailableReason((data ?? {})[props.timelineField ?? 'timeline'])

  const create = async (type: Kind, params: Record<string, unknown>) => {
    setBusy(type)
    setError(null)
    try {
      const res = await requestJSON<{ doc: { id: number | string } }>(`${urls.api}/${slug}?depth=0`, {
        method: 'POST',
        body: JSON.stringify({ type, project: id, params, source: 'admin' }),
      })
      window.location.assign(`${urls.admin}/collections/${slug}/${encodeURIComponent(String(res.doc.id))}`)
    } catch (err: any) {
      setError(err?.message ?? String(err))
      setBusy(null)
    }
  }

  return (
    <div style={wrap} role="group" aria-label="Export this project">
      <strong>Export</strong>
      <ActionButton label="Export PDF" busy={busy === 'project-pdf'} disabled={busy !== null} onClick={() => void create('project-pdf', {})} />
      <ActionButton
        label="Export ZIP"
        busy={busy === 'project-zip'}
        disabled={busy !== null}
        onClick={() => void create('project-zip', { includeMedia })}
      />
      <label style={{ display: 'flex', alignItems: 'center', gap: 6, fontSize: 13 }}>
        <input type="checkbox" checked={includeMedia} onChange={(e) => setIncludeMedia(e.target.checked)} />
        Include media in the ZIP
      </label>
      {presets.length > 1 ? (
        <label style={{ display: 'flex', alignItems: 'center', gap: 6, fontSize: 13 }}>
          Video preset
          <select value={preset} onChange={(e) => setPreset(e.target.value)} disabled={Boolean(videoReason)}>
            {presets.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      <ActionButton
        label="Export video"
        busy={busy === 'video'}
        disabled={busy !== null || Boolean(videoReason)}
        title={videoReason ?? undefined}
        describedBy={videoReason ? 'export-video-reason' : undefined}
        onClick={() => void create('video', { preset })}
      />
      {videoReason ? (
        <small id="export-video-reason" style={{ color: 'var(--theme-elevation-600, #666)' }}>
          {videoReason}
        </small>
      ) : null}
      {error ? (
        <p role="alert" style={{ color: 'var(--theme-error-500, #c62828)', margin: 0 }}>
          {error}
        </p>
      ) : null}
    </div>
  )
}

export default ExportActions
