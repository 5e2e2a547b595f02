'use client'
// One poll for a whole list view: every unfinished row registers here and a single request every
// LIST_POLL_MS reads all of them (instead of one socket and one poll per row).

import { useEffect, useState } from 'react'

import { TERMINAL_STATUSES } from '../vocabulary.js'
import { query, requestJSON } from './api.js'

export const LIST_POLL_MS = 2000

export type RowState = { status: string; progress: number; stage: string | null; error: string | null }
type Listener = (row: RowState) => void
type Poller = { listeners: Map<string, Set<Listener>>; timer: ReturnType<typeof setTimeout> | null }

const pollers = new Map<string, Poller>()
const terminal = new Set<string>(TERMINAL_STATUSES)

async function tick(base: string, poller: Poller): Promise<void> {
  poller.timer = null
  const ids = [...poller.listeners.keys()]
  if (!ids.length) return
  try {
    const qs = query({
      where: { id: { in: ids.join(',') } },
      depth: 0,
      limit: ids.length,
      select: { status: true, progress: true, stage: true, error: true },
    })
    const res = await requestJSON<{ docs: Array<Record<string, any>> }>(`${base}?${qs}`)
    for (const doc of res.docs) {
      const row: RowState = {
        status: String(doc.status ?? 'queued'),
        progress: Number(doc.progress ?? 0),
        stage: doc.stage ?? null,
        error: doc.error ?? null,
      }
      for (const l of poller.listeners.get(String(doc.id)) ?? []) l(row)
    }
  } catch {
    // the next tick tries again
  }
  if (poller.listeners.size) poller.timer = setTimeout(() => void tick(base, poller), LIST_POLL_MS)
}

function subscribe(base: string, id: string, listener: Listener): () => void {
  let poller = pollers.get(base)
  if (!poller) pollers.set(base, (poller = { listeners: new Map(), timer: null }))
  const set = poller.listeners.get(id) ?? new Set()
  set.add(listener)
  poller.listeners.set(id, set)
  const p = poller
  if (!p.timer) p.timer = setTimeout(() => void tick(base, p), LIST_POLL_MS)
  return () => {
    set.delete(listener)
    if (!set.size) p.listeners.delete(id)
    if (!p.listeners.size && p.timer) {
      clearTimeout(p.timer)
      p.timer = null
    }
  }
}

/** The row's live state while it is unfinished; one shared poll serves every row of the list. */
export function useListRow(base: string, id: string, initial: RowState): RowState {
  const [row, setRow] = useState(initial)
  const done = terminal.has(row.status)
  useEffect(() => {
    if (done) return
    return subscribe(base, id, setRow)
  }, [base, id, done])
  return row
}
