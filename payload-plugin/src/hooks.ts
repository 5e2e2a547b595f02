// The export-requests hooks: who may write what (beforeChange), delivery and e-mail (afterChange).
import type { CollectionAfterChangeHook, CollectionBeforeChangeHook, PayloadRequest } from 'payload'
import { APIError, ValidationError } from 'payload'

import { readProjectAsUser } from './access.js'
import { queueDelivery } from './delivery.js'
import type { AnyUser, Resolved } from './options.js'
import { tKey, type PluginTranslationKey } from './translations/index.js'
import { isRerunnable, isTerminal } from './vocabulary.js'
import { changedFields, reduceToIds } from './webhook.js'

/** Fields only the export service may change. */
export const STATUS_FIELDS = ['status', 'progress', 'stage', 'error', 'notes', 'result', 'resultUrl', 'jobId', 'startedAt', 'finishedAt'] as const

/**
 * Cleared when a person re-runs a request. `jobId` too: the service writes the new run's id
 * when it starts, and a request `queued` without one is how its sweeper finds a lost delivery.
 */
const RUN_STATE_RESET = { progress: 0, error: null, notes: null, stage: null, result: null, resultUrl: null, jobId: null, startedAt: null, finishedAt: null }
const STATUS_DEFAULTS: Record<string, unknown> = { status: 'queued', progress: 0 }
const DATE_FIELDS = new Set(['startedAt', 'finishedAt'])
const REL_FIELDS = new Set(['result', 'requestedBy', 'project'])
const SHORT_TYPE: Record<string, string> = { 'project-pdf': 'PDF', 'project-zip': 'ZIP', video: 'Video' }

const relId = (v: unknown): unknown => (v && typeof v === 'object' && 'id' in (v as any) ? (v as any).id : v)

/** A field value normalised for "did it change?". */
function norm(name: string, v: unknown): string | number | null {
  if (v === undefined || v === null || v === '') return null
  if (REL_FIELDS.has(name)) return String(relId(v))
  if (DATE_FIELDS.has(name)) {
    const t = new Date(v as any).getTime()
    return Number.isNaN(t) ? String(v) : t
  }
  if (typeof v === 'object') return JSON.stringify(v)
  return v as any
}

const say = (req: PayloadRequest, key: PluginTranslationKey, vars?: Record<string, unknown>): string =>
  (req.t as any)(tKey(key), vars)

const forbidden = (message: string) => new APIError(message, 403, null, true)

function invalid(o: Resolved, req: PayloadRequest, path: string, message: string): ValidationError {
  return new ValidationError({ collection: o.slugs.exportRequests, errors: [{ path, message }], req })
}

/** "PDF · The Lighthouse Keeper · 2026-11-25 22:10 UTC" */
export function requestTitle(type: unknown, projectTitle: unknown, at: Date = new Date()): string {
  const when = `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`
  return [SHORT_TYPE[String(type)] ?? String(type ?? ''), String(projectTitle ?? ''), when].filter(Boolean).join(' · ')
}

/** The project as the server sees it (for its title and tenant, never for access decisions). */
async function projectAsServer(o: Resolved, req: PayloadRequest, id: unknown): Promise<Record<string, any> | null> {
  if (id === undefined || id === null || id === '') return null
  return (await req.payload.findByID({ collection: o.slugs.projects as any, id: id as any, depth: 0, disableErrors: true, req })) as any
}

function projectTitle(o: Resolved, req: PayloadRequest, project: Record<string, any> | null, id: unknown): string {
  const field = req.payload.collections[o.slugs.projects as any]?.config.admin?.useAsTitle ?? 'id'
  return String(project?.[field] ?? `#${String(id)}`)
}

const hasField = (req: PayloadRequest, slug: string, name: string): boolean =>
  Boolean(req.payload.collections[slug as any]?.config.flattenedFields?.some((f: any) => f.name === name))

/** Copies the project's tenant onto `data` (multi-tenant setups), unless `data` names one. */
function inheritTenant(o: Resolved, req: PayloadRequest, slug: string, data: Record<string, any>, project: Record<string, any> | null) {
  const f = o.tenantField
  if (data[f] != null || project?.[f] == null || !hasField(req, slug, f)) return
  data[f] = relId(project[f])
}

/** Media: export results (`exportOf` set) get their project's tenant. */
export function mediaBeforeChangeHook(o: Resolved): CollectionBeforeChangeHook {
  return async ({ data, req }) => {
    if (!data?.exportOf || data[o.tenantField] != null || !hasField(req, o.slugs.media, o.tenantField)) return data
    inheritTenant(o, req, o.slugs.media, data, await projectAsServer(o, req, relId(data.exportOf)))
    return data
  }
}

export function beforeChangeHook(o: Resolved): CollectionBeforeChangeHook {
  return async ({ data, operation, originalDoc, req, context }) => {
    const user = req.user as AnyUser
    if (context?.exportServiceInternal) return data
    const prev = (originalDoc ?? {}) as Record<string, unknown>
    const projectId = relId(data.project ?? prev.project)
    // Server-side code (Local API without a user) and the service are trusted.
    if (!user || o.isService(user)) {
      if (operation === 'create') {
        if (user && user.collection === o.slugs.users && data.requestedBy == null) data.requestedBy = user.id
        const project = await projectAsServer(o, req, projectId)
        data.title = requestTitle(data.type, projectTitle(o, req, project, projectId))
        inheritTenant(o, req, o.slugs.exportRequests, data, project)
      }
      return data
    }
    const params = data.params
    if (params && typeof params === 'object' && ('projectId' in params || 'project' in params)) {
      throw invalid(o, req, 'params', 'params may not name a project: the export is always of the request’s "project".')
    }

    let rerun = false
    if (operation === 'create') {
      if (user.collection === o.slugs.users) data.requestedBy = user.id
      for (const f of STATUS_FIELDS) {
        const v = norm(f, data[f])
        if (v !== null && v !== norm(f, STATUS_DEFAULTS[f])) throw forbidden(say(req, 'onlyServiceSets', { field: f }))
      }
    } else {
      const differs = (f: string) => f in data && norm(f, data[f]) !== norm(f, prev[f])
      if (differs('requestedBy')) throw forbidden(say(req, 'requestedByFixed'))
      if (differs('status')) {
        if (!(isRerunnable(prev.status) && data.status === 'queued')) {
          throw forbidden(say(req, 'onlyServiceStatus', { status: String(prev.status) }))
        }
        rerun = true
        Object.assign(data, RUN_STATE_RESET)
      } else {
        const changed = STATUS_FIELDS.filter((f) => differs(f))
        if (changed.length) throw forbidden(say(req, 'onlyServiceChanges', { fields: changed.map((f) => `"${f}"`).join(', ') }))
      }
    }

    // Every write by a person (creation, re-run, any edit) is authorised as that person, now:
    // they must be able to read the request's project under Payload's own access control.
    const project = await readProjectAsUser(o, req, projectId)
    if (projectId != null && projectId !== '' && !project) {
      throw invalid(o, req, 'project', say(req, rerun ? 'notAllowedToRerun' : 'projectNotReadable', { id: String(projectId) }))
    }
    if (operation === 'create' || relId(prev.project) !== projectId) {
      data.title = requestTitle(data.type ?? prev.type, projectTitle(o, req, project, projectId))
    }
    if (operation === 'create') inheritTenant(o, req, o.slugs.exportRequests, data, project)
    return data
  }
}

export function afterChangeHook(o: Resolved): CollectionAfterChangeHook {
  return async ({ collection, doc, previousDoc, operation, req, context }) => {
    if (!o.enabled || context?.exportServiceInternal) return doc
    const user = req.user as AnyUser
    const byService = Boolean(user && o.isService(user))
    try {
      if (o.email && byService) await maybeEmail(o, req, doc, previousDoc)
      if (byService && !o.notifyServiceChanges) return doc
      const fields = collection.fields as any
      const d = reduceToIds(doc, fields)
      const p = operation === 'create' ? {} : reduceToIds(previousDoc ?? {}, fields)
      const body = {
        event: `${collection.slug}.afterChange`,
        collection: collection.slug,
        operation,
        user: user ? { id: user.id ?? null, collection: user.collection ?? null, email: user.email ?? null } : null,
        changedFields: changedFields(d, p),
        doc: d,
        previousDoc: p,
      }
      await queueDelivery(o, req, doc.id, body)
    } catch (err) {
      // Never fail the editor's change over the delivery; the service's sweeper finds the request.
      req.payload.logger.error({ err, msg: `[export-service] could not queue the delivery of ${collection.slug}/${doc.id}` })
    }
    return doc
  }
}

/** E-mails the requester when the service writes a terminal status the options ask for. */
async function maybeEmail(o: Resolved, req: PayloadRequest, doc: any, previousDoc: any): Promise<void> {
  const status = String(doc.status)
  if (!o.email || !isTerminal(status) || previousDoc?.status === status || !o.email.statuses.includes(status as any)) return
  const requester: any = await req.payload.findByID({
    collection: o.slugs.users as any,
    id: relId(doc.requestedBy) as any,
    depth: 0,
    disableErrors: true,
    req,
  })
  if (!requester?.email) return
  const title = String(doc.title ?? doc.id)
  const statusLabel = say(req, status as PluginTranslationKey)
  const text =
    status === 'succeeded'
      ? say(req, 'emailSucceeded', { title, url: String(doc.resultUrl ?? '') })
      : say(req, 'emailFailed', { title, status: statusLabel, error: String(doc.error ?? '') })
  try {
    await req.payload.sendEmail({ to: requester.email, subject: say(req, 'emailSubject', { title, status: statusLabel }), text })
  } catch (err) {
    req.payload.logger.error({ err, msg: `[export-service] could not e-mail ${requester.email} about ${o.slugs.exportRequests}/${doc.id}` })
  }
}
