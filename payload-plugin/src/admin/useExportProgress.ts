'use client'
// Live state of one export request: the service's WebSocket (through a signed `eventsUrl` the plugin's
// `GET /api/<export-requests>/:id/events-url` endpoint obtains), falling back to polling the document.

import { useCallback, useEffect, useState } from 'react'

import { TERMINAL_STATUSES } from '../vocabulary.js'
import { requestJSON } from './api.js'

export const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES)
export const POLL_MS = 1500

export type MediaDoc = {
  id: number | string
  url?: string | null
  filename?: string | null
  filesize?: number | null
  mimeType?: string | null
  bytes?: number | null
}

export type ExportRequestDoc = {
  id: number | string
  type?: string
  status?: string
  progress?: number | null
  stage?: string | null
  error?: string | null
  jobId?: string | null
  result?: MediaDoc | number | string | null
  resultUrl?: string | null
  [key: string]: unknown
}

/** One message of the service's `WS /jobs/{jobId}/events`. */
export type JobEvent = {
  jobId: string
  status: string
  progress: number
  stage?: string | null
  error?: string | null
  resultMediaId?: number | string | null
  at?: string
}

export type Transport = 'loading' | 'socket' | 'polling' | 'done'

export type LiveExport = {
  doc: ExportRequestDoc | null
  status: string
  progress: number
  stage: string | null
  error: string | null
  transport: Transport
  problem: string | null
  /** Re-reads the document and restarts live tracking (e.g. after a re-run). */
  restart: () => void
}

type State = { doc: ExportRequestDoc | null; event: JobEvent | null; transport: Transport; problem: string | null }

const clamp = (n: unknown) => {
  const v = Number(n)
  return Number.isFinite(v) ? Math.max(0, Math.min(100, Math.round(v))) : 0
}

export function useExportProgress(
  id: number | string | undefined | null,
  opts: { api: string; slug: string; initial?: ExportRequestDoc | null },
): LiveExport {
  const { api, slug } = opts
  const [run, setRun] = useState(0)
  const [state, setState] = useState<State>(() => ({
    doc: opts.initial ?? null,
    event: null,
    transport: 'loading',
    problem: null,
  }))

  useEffect(() => {
    if (id === undefined || id === null || id === '') return
    let cancelled = false
    let socket: WebSocket | null = null
    let timer: ReturnType<typeof setTimeout> | undefined
    let socketUnavailable = typeof WebSocket === 'undefined'
    let ticketRetries = 0
    let terminalEventSeen = false
    const base = `${api}/${slug}/${encodeURIComponent(String(id))}`
    const update = (patch: Partial<State> | ((s: State) => Partial<State>)) => {
      if (!cancelled) setState((s) => ({ ...s, ...(typeof patch === 'function' ? patch(s) : patch) }))
    }
    const later = (ms: number) => {
      clearTimeout(timer)
      timer = setTimeout(() => void step(), ms)
    }

    const openSocket = (url: string, jobId: string) => {
      const ws = new WebSocket(url)
      socket = ws
      ws.onopen = () => update({ transport: 'socket', problem: null })
      ws.onmessage = (ev) => {
        let msg: JobEvent
        try {
          msg = JSON.parse(String(ev.data))
        } catch {
          return
        }
        if (!msg || (msg.jobId && msg.jobId !== jobId)) return
        if (TERMINAL.has(msg.status)) terminalEventSeen = true
        update({ event: msg })
      }
      ws.onclose = (ev) => {
        if (socket === ws) socket = null
        if (cancelled) return
        if (terminalEventSeen) {
          // Terminal state seen live: re-read the document (result, error) until Payload has it too.
          later(250)
        } else if (ev.code === 1008 && ticketRetries < 3) {
          // Refused ticket (e.g. expired on a long export): fetch a fresh one.
          ticketRetries++
          later(500)
        } else {
          socketUnavailable = true
          update({ transport: 'polling' })
          later(POLL_MS)
        }
      }
    }

    const step = async () => {
      if (cancelled) return
      let doc: ExportRequestDoc
      try {
        doc = await requestJSON<ExportRequestDoc>(`${base}?depth=1`)
      } catch (err: any) {
        update({ problem: String(err?.message ?? err) })
        return later(POLL_MS * 2)
      }
      if (cancelled) return
      if (TERMINAL.has(String(doc.status))) {
        update({ doc, transport: 'done', problem: null })
        return
      }
      update((s) => ({
        doc,
        problem: null,
        // a live event belongs to the document's current job only (a re-run gets a new job)
        event: s.event && doc.jobId && s.event.jobId !== doc.jobId ? null : s.event,
      }))
      if (doc.jobId && !socketUnavailable && !terminalEventSeen) {
        try {
          const { eventsUrl } = await requestJSON<{ eventsUrl?: string }>(`${base}/events-url`)
          if (cancelled) return
          if (eventsUrl) return openSocket(eventsUrl, doc.jobId)
          socketUnavailable = true
        } catch (err: any) {
          if (cancelled) return
          // 409: the job is not known yet — keep polling and ask again; anything else: poll from now on
          if (err?.status !== 409) socketUnavailable = true
        }
      }
      update({ transport: 'polling' })
      later(terminalEventSeen ? 500 : POLL_MS)
    }

    void step()
    return () => {
      cancelled = true
      clearTimeout(timer)
      if (socket) {
        socket.onclose = null
        socket.close(1000)
      }
    }
  }, [id, slug, api, run])

  const restart = useCallback(() => {
    setState((s) => ({ ...s, event: null, transport: 'loading' }))
    setRun((r) => r + 1)
  }, [])

  const { doc, event, transport, problem } = state
  const docTerminal = TERMINAL.has(String(doc?.status))
  // The document is the truth once it is terminal; until then the live event is newer.
  const live = event && !docTerminal && (!doc?.jobId || event.jobId === doc.jobId) ? event : null
  return {
    doc,
    status: String(live?.status ?? doc?.status ?? 'queued'),
    progress: clamp(live?.progress ?? doc?.progress ?? 0),
    stage: (live ? live.stage : doc?.stage) ?? null,
    error: (live ? live.error : doc?.error) ?? null,
    transport,
    problem,
    restart,
  }
}
