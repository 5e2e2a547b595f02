'use client'
// Project edit view (sidebar): Export PDF (with the brief's options), Export ZIP, Export video, and
// the project's last exports. Each click creates an export request as the logged-in editor (so
// Payload's access rules apply) and opens it; the export is in the locale the admin shows.

import { Banner, Button, CheckboxInput, ReactSelect, useDocumentInfo, useLocale } from '@payloadcms/ui'
import { useRouter } from 'next/navigation.js'
import React, { useState } from 'react'

import type { PluginTranslationKey } from '../translations/index.js'
import { type ExportType, PDF_ORIENTATIONS, PDF_PAPER_SIZES, PDF_SECTIONS, type PdfSection } from '../vocabulary.js'
import { type PdfOptions, pdfParams, withLocale } from './pdfParams.js'
import { requestJSON, useSay, useUrls } from './api.js'
import { LastExports } from './LastExports.js'

export type ExportActionsProps = {
  exportRequestsSlug?: string
  timelineField?: string
  videoPresets?: string[]
  lastExports?: number
}

/** Why a video cannot be exported from this project's saved data (a translation key), or null. */
export function videoUnavailableReason(timeline: unknown): PluginTranslationKey | null {
  const clips = timeline && typeof timeline === 'object' ? (timeline as any).clips : undefined
  if (!timeline) return 'noTimeline'
  if (!Array.isArray(clips) || clips.length === 0) return 'noClips'
  return null
}

/**
 * Payload's CheckboxInput, with an accessible name: it labels its input by the element whose id is
 * its `name`, so the label carries that id.
 */
function Checkbox(props: { id: string; label: string; checked: boolean; onToggle: () => void }) {
  const labelId = `${props.id}-label`
  return (
    <CheckboxInput
      id={props.id}
      name={labelId}
      checked={props.checked}
      onToggle={props.onToggle}
      Label={
        <label htmlFor={props.id} id={labelId} className="field-label">
          {props.label}
        </label>
      }
    />
  )
}

const column: React.CSSProperties = { display: 'flex', flexDirection: 'column', gap: 10, marginBottom: 'var(--base)' }

function Choice(props: { id: string; label: string; value: string; options: { label: string; value: string }[]; onChange: (v: string) => void }) {
  const current = props.options.find((o) => o.value === props.value)
  return (
    <label htmlFor={props.id} style={{ display: 'grid', gap: 4 }}>
      <span>{props.label}</span>
      <ReactSelect
        inputId={props.id}
        isClearable={false}
        isSearchable={false}
        options={props.options}
        value={current}
        onChange={(v: any) => props.onChange(String((Array.isArray(v) ? v[0] : v)?.value ?? props.value))}
      />
    </label>
  )
}

function PdfOptionsPanel(props: { value: PdfOptions; onChange: (v: PdfOptions) => void }) {
  const say = useSay()
  const { value, onChange } = props
  const toggle = (s: PdfSection) =>
    onChange({ ...value, sections: value.sections.includes(s) ? value.sections.filter((x) => x !== s) : [...value.sections, s] })
  return (
    <details data-testid="pdf-options">
      <summary>{say('pdfOptions')}</summary>
      <div style={{ display: 'grid', gap: 8, marginTop: 8 }}>
        <Choice
          id="export-pdf-paper"
          label={say('paperSize')}
          value={value.paperSize}
          options={PDF_PAPER_SIZES.map((p) => ({ label: p, value: p }))}
          onChange={(paperSize) => onChange({ ...value, paperSize })}
        />
        <Choice
          id="export-pdf-orientation"
          label={say('orientation')}
          value={value.orientation}
          options={PDF_ORIENTATIONS.map((o) => ({ label: say(o), value: o }))}
          onChange={(orientation) => onChange({ ...value, orientation })}
        />
        <fieldset style={{ border: 0, margin: 0, padding: 0, display: 'grid', gap: 4 }}>
          <legend>{say('sections')}</legend>
          {PDF_SECTIONS.map((s) => (
            <Checkbox
              key={s}
              id={`export-pdf-section-${s}`}
              label={say(`pdfSection-${s}` as PluginTranslationKey)}
              checked={value.sections.includes(s)}
              onToggle={() => toggle(s)}
            />
          ))}
        </fieldset>
      </div>
    </details>
  )
}

export function ExportActions(props: ExportActionsProps) {
  const slug = props.exportRequestsSlug ?? 'export-requests'
  const presets = props.videoPresets?.length ? props.videoPresets : ['720p-h264']
  const { id, savedDocumentData } = useDocumentInfo()
  const locale = useLocale()
  const urls = useUrls()
  const say = useSay()
  const router = useRouter()
  const [busy, setBusy] = useState<ExportType | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [includeMedia, setIncludeMedia] = useState(true)
  const [preset, setPreset] = useState(presets[0])
  const [pdf, setPdf] = useState<PdfOptions>({ paperSize: PDF_PAPER_SIZES[0], orientation: PDF_ORIENTATIONS[0], sections: [...PDF_SECTIONS] })

  if (id === undefined || id === null) {
    return (
      <div style={column}>
        <strong>{say('export')}</strong>
        <p style={{ margin: 0 }}>{say('saveToExport')}</p>
      </div>
    )
  }
  const videoReason = videoUnavailableReason((savedDocumentData ?? {})[props.timelineField ?? 'timeline'])

  const create = async (type: ExportType, params: Record<string, unknown>) => {
    setBusy(type)
    setError(null)
    try {
      const res = await requestJSON<{ doc: { id: number | string } }>(`${urls.api}/${slug}?depth=0`, {
        method: 'POST',
        body: JSON.stringify({ type, project: id, params: withLocale(params, locale), source: 'admin' }),
      })
      router.push(urls.admin(`/collections/${slug}/${encodeURIComponent(String(res.doc.id))}`))
    } catch (err: any) {
      setError(err?.message ?? String(err))
      setBusy(null)
    }
  }
  const label = (type: ExportType, key: PluginTranslationKey) => (busy === type ? say('creating') : say(key))

  return (
    <div style={column} role="group" aria-label={say('exportThisProject')}>
      <strong>{say('export')}</strong>
      <Button buttonStyle="primary" size="small" margin={false} disabled={busy !== null} onClick={() => void create('project-pdf', pdfParams(pdf))}>
        {label('project-pdf', 'exportPdf')}
      </Button>
      <PdfOptionsPanel value={pdf} onChange={setPdf} />
      <Button
        buttonStyle="secondary"
        size="small"
        margin={false}
        disabled={busy !== null}
        onClick={() => void create('project-zip', { includeMedia })}
      >
        {label('project-zip', 'exportZip')}
      </Button>
      <Checkbox id="export-zip-include-media" label={say('includeMedia')} checked={includeMedia} onToggle={() => setIncludeMedia(!includeMedia)} />
      {presets.length > 1 && !videoReason ? (
        <Choice id="export-video-preset" label={say('videoPreset')} value={preset} options={presets.map((p) => ({ label: p, value: p }))} onChange={setPreset} />
      ) : null}
      <Button
        buttonStyle="secondary"
        size="small"
        margin={false}
        disabled={busy !== null || Boolean(videoReason)}
        tooltip={videoReason ? say(videoReason) : undefined}
        onClick={() => void create('video', { preset })}
      >
        {label('video', 'exportVideo')}
      </Button>
      {videoReason ? <small id="export-video-reason">{say(videoReason)}</small> : null}
      {error ? (
        <div role="alert">
          <Banner type="error">{error}</Banner>
        </div>
      ) : null}
      {props.lastExports !== 0 ? <LastExports project={id} slug={slug} limit={props.lastExports ?? 5} /> : null}
    </div>
  )
}

export default ExportActions
