import type {
  Access,
  CollectionAfterChangeHook,
  CollectionBeforeChangeHook,
  CollectionConfig,
  Config,
  Endpoint,
  Field,
  Payload,
  PayloadRequest,
  Plugin,
  Where,
} from 'payload'
import { APIError, ValidationError } from 'payload'

import { localesEndpoint } from './locales.js'
import { changedFields, reduceToIds, signWebhook, SIGNATURE_HEADER } from './webhook.js'

export * from './webhook.js'

export type ExportServiceCollections = {
  /** slug of the projects collection (default `projects`) */
  projects?: string
  /** slug of the upload collection results are stored in (default `media`) */
  media?: string
  /** slug of the scripts collection (default `scripts`; informational, not required) */
  scripts?: string
  /** slug of the collection this plugin adds (default `export-requests`) */
  exportRequests?: string
}

export type AnyUser = (Record<string, any> & { id?: number | string; collection?: string; roles?: unknown }) | null | undefined

export type ExportServiceOptions = {
  /** Base URL of the export service; webhooks go to `${serviceUrl}/webhooks/payload`. */
  serviceUrl?: string
  /** Shared HMAC secret for `X-Export-Signature`. */
  secret?: string
  collections?: ExportServiceCollections
  /**
   * Is this user the export service? Service users may write every status field.
   * Default: `Array.isArray(user.roles) && user.roles.includes('export-service')`.
   */
  isService?: (user: AnyUser) => boolean
  /** Is this user an admin (may read/delete all export requests)? Default: roles include `admin`. */
  isAdmin?: (user: AnyUser) => boolean
  /** Auth collection `requestedBy` points to. Default: `config.admin.user`, else the first auth collection. */
  usersCollection?: string
  /** Webhook delivery timeout (default 5000 ms). */
  timeoutMs?: number
  /** Send webhooks (default true). When false the collection/fields are still added. */
  enabled?: boolean
  /**
   * Also send webhooks for changes made by service users (default false: the service is not
   * notified about its own progress/status writes).
   */
  notifyServiceChanges?: boolean
  /** Custom logger hook for delivery problems (default: payload.logger). */
  onDeliveryError?: (err: Error, ctx: { id: number | string; collection: string }) => void
  /**
   * Admin UI components (default true): export buttons on the project edit view, a live progress
   * panel on export requests and a progress column in their list. `false` registers none.
   */
  admin?: boolean | ExportServiceAdminOptions
}

export type ExportServiceAdminOptions = {
  /** Project field holding the video timeline (`{ clips: [...] }`); default `timeline`. */
  timelineField?: string
  /** Video presets offered on the project view (first is the default); default `['720p-h264', '1080p-h264', '360p-h264']`. */
  videoPresets?: string[]
  /**
   * Base URL of the export service as the editors' browsers reach it, for the live-progress
   * WebSocket (default: the service's own `eventsUrl`, i.e. `serviceUrl`).
   */
  publicServiceUrl?: string
}

/** Module the admin components are imported from (Payload import map paths). */
export const CLIENT_MODULE = 'payload-plugin-export-service/client'

/** Fields only the export service may change. */
export const STATUS_FIELDS = [
  'status',
  'progress',
  'stage',
  'error',
  'result',
  'resultUrl',
  'jobId',
  'startedAt',
  'finishedAt',
] as const

const STATUS_DEFAULTS: Record<string, unknown> = { status: 'queued', progress: 0 }
/** The job statuses, as the export service's `JobStatus` enum has them (a test compares). */
export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const
/** Statuses a person may set back to `queued` to run the export again. */
const RERUNNABLE = new Set<string>(['failed', 'cancelled'])
/** Where an export request came from. */
export const SOURCES = ['admin', 'rest', 'mcp', 'cli'] as const
const DATE_FIELDS = new Set(['startedAt', 'finishedAt'])
const REL_FIELDS = new Set(['result', 'requestedBy', 'project'])

export const defaultIsService = (user: AnyUser): boolean =>
  Array.isArray(user?.roles) && (user!.roles as unknown[]).includes('export-service')

export const defaultIsAdmin = (user: AnyUser): boolean =>
  Array.isArray(user?.roles) && (user!.roles as unknown[]).includes('admin')

function relId(v: unknown): unknown {
  if (v && typeof v === 'object' && 'id' in (v as any)) return (v as any).id
  return v
}

/** Normalises a field value for "did it change?" comparisons. */
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

function forbidden(message: string): APIError {
  return new APIError(message, 403, null, true)
}

export const exportService =
  (opts: ExportServiceOptions = {}): Plugin =>
  (incoming: Config): Config => {
    const slugs = {
      projects: opts.collections?.projects ?? 'projects',
      media: opts.collections?.media ?? 'media',
      scripts: opts.collections?.scripts ?? 'scripts',
      exportRequests: opts.collections?.exportRequests ?? 'export-requests',
    }
    const isService = opts.isService ?? defaultIsService
    const isAdmin = opts.isAdmin ?? defaultIsAdmin
    const timeoutMs = opts.timeoutMs ?? 5000
    const enabled = opts.enabled ?? true
    const config: Config = { ...incoming, collections: [...(incoming.collections ?? [])] }
    const collections = config.collections as CollectionConfig[]

    const mediaIndex = collections.findIndex((c) => c.slug === slugs.media)
    if (mediaIndex < 0) {
      throw new Error(
        `[export-service] the media collection "${slugs.media}" is not in the Payload config; add an upload collection with that slug or pass collections.media`,
      )
    }
    if (!collections.some((c) => c.slug === slugs.projects)) {
      throw new Error(
        `[export-service] the projects collection "${slugs.projects}" is not in the Payload config; pass collections.projects`,
      )
    }
    if (collections.some((c) => c.slug === slugs.exportRequests)) {
      throw new Error(`[export-service] a collection with slug "${slugs.exportRequests}" already exists`)
    }
    const usersSlug =
      opts.usersCollection ?? config.admin?.user ?? collections.find((c) => c.auth)?.slug ?? 'users'
    if (!collections.some((c) => c.slug === usersSlug)) {
      throw new Error(`[export-service] the auth collection "${usersSlug}" is not in the Payload config; pass usersCollection`)
    }

    if (enabled && (!opts.serviceUrl || !opts.secret)) {
      // Not fatal: a misconfigured dev box should still boot. Deliveries will fail and be recorded.
      console.warn('[export-service] serviceUrl and/or secret missing: webhook deliveries will fail')
    }

    // ---- media fields -------------------------------------------------------------------------
    const media = collections[mediaIndex]
    collections[mediaIndex] = {
      ...media,
      fields: [
        ...(media.fields ?? []),
        { name: 'exportOf', type: 'relationship', relationTo: slugs.projects, index: true },
        { name: 'exportRequest', type: 'relationship', relationTo: slugs.exportRequests },
        { name: 'exportType', type: 'text' },
        { name: 'sha256', type: 'text' },
        { name: 'bytes', type: 'number' },
        { name: 'exportMeta', type: 'json', admin: { readOnly: true } },
      ],
    }

    // ---- admin components (client components from `${CLIENT_MODULE}`) ------------------------
    const adminOpts: ExportServiceAdminOptions | null =
      opts.admin === false ? null : typeof opts.admin === 'object' ? opts.admin : {}
    if (adminOpts) {
      const projectsIndex = collections.findIndex((c) => c.slug === slugs.projects)
      const projects = collections[projectsIndex]
      collections[projectsIndex] = {
        ...projects,
        fields: [
          ...(projects.fields ?? []),
          {
            name: 'exportServiceActions',
            type: 'ui',
            admin: {
              position: 'sidebar',
              components: {
                Field: {
                  path: `${CLIENT_MODULE}#ExportActions`,
                  clientProps: {
                    exportRequestsSlug: slugs.exportRequests,
                    timelineField: adminOpts.timelineField ?? 'timeline',
                    videoPresets: adminOpts.videoPresets ?? ['720p-h264', '1080p-h264', '360p-h264'],
                  },
                },
              },
            },
          },
        ],
      }
    }

    // ---- access -----------------------------------------------------------------------------
    /** ids of projects the user may read (through the projects collection's own access). */
    const readableProjectIds = async (req: PayloadRequest): Promise<(number | string)[]> => {
      const res = await req.payload.find({
        collection: slugs.projects as any,
        depth: 0,
        limit: 0,
        pagination: false,
        overrideAccess: false,
        user: req.user,
        req,
        select: {} as any,
      })
      return res.docs.map((d: any) => d.id)
    }

    const personWhere = async (req: PayloadRequest): Promise<Where> => {
      const user = req.user as AnyUser
      const or: Where[] = []
      if (user?.collection === usersSlug) or.push({ requestedBy: { equals: user.id } })
      const ids = await readableProjectIds(req)
      if (ids.length) or.push({ project: { in: ids } })
      // never-matching clause keeps the result a Where (and empty) if the user can read nothing
      if (!or.length) return { id: { equals: -1 } }
      return { or }
    }

    const readAccess: Access = async ({ req }) => {
      const user = req.user as AnyUser
      if (!user) return false
      if (isService(user) || isAdmin(user)) return true
      return personWhere(req)
    }
    const createAccess: Access = ({ req }) => Boolean(req.user)
    const updateAccess: Access = readAccess
    const deleteAccess: Access = ({ req }) => isAdmin(req.user as AnyUser)

    // ---- hooks ------------------------------------------------------------------------------
    const assertProjectReadable = async (req: PayloadRequest, project: unknown) => {
      const id = relId(project)
      if (id === undefined || id === null || id === '') return // "required" validation reports it
      let ok = false
      try {
        const found = await req.payload.findByID({
          collection: slugs.projects as any,
          id: id as any,
          depth: 0,
          overrideAccess: false,
          user: req.user,
          req,
          disableErrors: true,
        })
        ok = Boolean(found)
      } catch {
        ok = false
      }
      if (!ok) {
        throw new ValidationError({
          collection: slugs.exportRequests,
          errors: [{ path: 'project', message: `Project ${String(id)} does not exist or you are not allowed to read it` }],
          req,
        })
      }
    }

    const beforeChange: CollectionBeforeChangeHook = async ({ data, operation, originalDoc, req, context }) => {
      const user = req.user as AnyUser
      // Server-side code (Local API without a user) and our own internal writes are trusted.
      if (!user || context?.exportServiceInternal) return data
      const service = isService(user)

      if (operation === 'create') {
        if (user.collection === usersSlug && !service) data.requestedBy = user.id
        else if (user.collection === usersSlug && data.requestedBy == null) data.requestedBy = user.id
        if (!service) {
          for (const f of STATUS_FIELDS) {
            const v = norm(f, data[f])
            const def = norm(f, STATUS_DEFAULTS[f])
            if (v !== null && v !== def) {
              throw forbidden(`Only the export service may set "${f}"; create export requests without status fields`)
            }
          }
          await assertProjectReadable(req, data.project)
        }
        return data
      }

      // update
      if (service) return data
      const prev = (originalDoc ?? {}) as Record<string, unknown>
      const differs = (f: string) => f in data && norm(f, data[f]) !== norm(f, prev[f])

      if (differs('requestedBy')) throw forbidden('"requestedBy" cannot be changed')
      if (differs('status')) {
        if (RERUNNABLE.has(String(prev.status)) && data.status === 'queued') {
          // A re-run is a new request by the person making the change: they must be able to
          // read the project now, whoever asked the first time.
          await assertProjectReadable(req, 'project' in data ? data.project : prev.project)
          // deliberate re-run: reset the run state
          data.progress = 0
          data.error = null
          data.stage = null
          data.result = null
          data.resultUrl = null
          data.startedAt = null
          data.finishedAt = null
          data.jobId = null
        } else {
          throw forbidden(
            `Only the export service may change "status" (you may only re-run a failed or cancelled request by setting its status to "queued"; current status is "${String(prev.status)}")`,
          )
        }
      } else {
        const changed = STATUS_FIELDS.filter((f) => differs(f))
        if (changed.length) {
          throw forbidden(`Only the export service may change ${changed.map((f) => `"${f}"`).join(', ')}`)
        }
      }
      if (differs('project')) await assertProjectReadable(req, data.project)
      return data
    }

    /**
     * Waits (at most maxMs) until the request's DB transaction has been committed or rolled back,
     * so the receiver can read the document back. Adapters without transactions (db-sqlite's
     * default) leave a resolved `Promise<null>` (seen in hooks as a plain `{}`) in `req.transactionID`
     * forever: that means "none". Real transaction ids are strings (drizzle uuid, mongoose).
     */
    const waitForTransactionEnd = async (req: PayloadRequest, maxMs: number) => {
      const until = Date.now() + maxMs
      while (Date.now() < until) {
        const t: any = req.transactionID
        if (!t) return
        if (typeof t !== 'string' && typeof t !== 'number' && typeof t.then !== 'function') return // e.g. `{}`: no real transaction
        if (typeof t.then === 'function') {
          const id = await Promise.race([t, new Promise((r) => setTimeout(() => r(null), Math.max(0, until - Date.now())))])
          if (!id) return
          continue
        }
        await new Promise((r) => setTimeout(r, 10))
      }
    }

    const recordFailure = async (payload: Payload, id: number | string, reason: string) => {
      // The change that triggered the webhook may not be committed yet; retry briefly on 404.
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          const current: any = await payload.findByID({
            collection: slugs.exportRequests as any,
            id: id as any,
            depth: 0,
            overrideAccess: true,
            disableErrors: true,
          })
          if (!current) {
            await new Promise((r) => setTimeout(r, 200 * (attempt + 1)))
            continue
          }
          // Only a request that is waiting for the service is failed by a lost delivery;
          // a running/finished job is left alone (the problem is only logged).
          if (current.status !== 'queued') return false
          await payload.update({
            collection: slugs.exportRequests as any,
            id: id as any,
            data: { status: 'failed', error: `export service unreachable: ${reason}` } as any,
            context: { exportServiceInternal: true },
            overrideAccess: true,
            depth: 0,
          })
          return true
        } catch (err) {
          payload.logger.error({ err, msg: `[export-service] could not record delivery failure on ${slugs.exportRequests}/${id}` })
          return false
        }
      }
      return false
    }

    const deliver = async (payload: Payload, id: number | string, body: string) => {
      const url = `${String(opts.serviceUrl ?? '').replace(/\/+$/, '')}/webhooks/payload`
      let reason: string | null = null
      try {
        if (!opts.serviceUrl) throw new Error('serviceUrl is not configured')
        if (!opts.secret) throw new Error('webhook secret is not configured')
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            [SIGNATURE_HEADER]: signWebhook(opts.secret, body),
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        })
        // drain the body so the socket can be reused
        await res.arrayBuffer().catch(() => undefined)
        if (!res.ok) reason = `HTTP ${res.status} from ${url}`
      } catch (err: any) {
        if (err?.name === 'TimeoutError' || err?.name === 'AbortError') reason = `timeout after ${timeoutMs} ms (${url})`
        else reason = `${err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(err)} (${url})`
      }
      if (reason) {
        const e = new Error(reason)
        if (opts.onDeliveryError) opts.onDeliveryError(e, { id, collection: slugs.exportRequests })
        else payload.logger.warn(`[export-service] webhook for ${slugs.exportRequests}/${id} failed: ${reason}`)
        await recordFailure(payload, id, reason)
      }
    }

    const afterChange: CollectionAfterChangeHook = ({ collection, doc, previousDoc, operation, req, context }) => {
      try {
        if (!enabled || context?.exportServiceInternal) return doc
        const user = req.user as AnyUser
        if (user && isService(user) && !opts.notifyServiceChanges) return doc
        const fields = collection.fields as any
        const d = reduceToIds(doc, fields)
        const p = operation === 'create' ? {} : reduceToIds(previousDoc ?? {}, fields)
        const body = JSON.stringify({
          event: `${collection.slug}.afterChange`,
          collection: collection.slug,
          operation,
          user: user ? { id: user.id ?? null, collection: user.collection ?? null, email: user.email ?? null } : null,
          changedFields: changedFields(d, p),
          doc: d,
          previousDoc: p,
        })
        const payload = req.payload
        const id = doc.id
        // Fire-and-forget: never block or fail the editor's request. Wait (briefly) for the
        // request's transaction to finish so the receiver can read the document back.
        setImmediate(() => {
          waitForTransactionEnd(req, Math.max(timeoutMs, 2000))
            .then(() => deliver(payload, id, body))
            .catch((err) => payload.logger.error({ err, msg: '[export-service] webhook delivery crashed' }))
        })
      } catch (err) {
        req.payload.logger.error({ err, msg: '[export-service] could not prepare webhook' })
      }
      return doc
    }

    // ---- events-url endpoint: a signed WebSocket URL for the live progress of one request -------
    const jsonError = (status: number, message: string) =>
      Response.json({ errors: [{ message }] }, { status, headers: { 'Cache-Control': 'no-store' } })
    const toWs = (base: string) => base.replace(/^http(s?):/i, 'ws$1:').replace(/\/+$/, '')
    const eventsUrlEndpoint: Endpoint = {
      path: '/:id/events-url',
      method: 'get',
      handler: async (req) => {
        if (!req.user) return jsonError(403, 'You are not allowed to perform this action.')
        const id = (req.routeParams as Record<string, unknown> | undefined)?.id as string | undefined
        if (!id) return jsonError(404, 'Not Found')
        // The editor must be able to read the request (the collection's own read access).
        const doc: any = await req.payload.findByID({
          collection: slugs.exportRequests as any,
          id,
          depth: 0,
          overrideAccess: false,
          user: req.user,
          req,
          disableErrors: true,
        })
        if (!doc) return jsonError(404, 'Not Found')
        if (!doc.jobId) return jsonError(409, 'The export service has not started a job for this request yet')
        if (!opts.serviceUrl || !opts.secret) return jsonError(503, 'The export service is not configured (serviceUrl/secret)')
        const user = req.user as AnyUser
        const body = JSON.stringify({
          jobId: String(doc.jobId),
          exportRequestId: doc.id,
          user: { id: user?.id ?? null, collection: user?.collection ?? null, email: user?.email ?? null },
        })
        const url = `${String(opts.serviceUrl).replace(/\/+$/, '')}/webhooks/payload/ticket`
        let res: globalThis.Response
        try {
          res = await fetch(url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: signWebhook(opts.secret, body) },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          })
        } catch (err: any) {
          return jsonError(502, `The export service is unreachable: ${err?.cause?.code ?? err?.message ?? String(err)}`)
        }
        const answer: any = await res.json().catch(() => null)
        if (!res.ok || !answer || typeof answer.eventsUrl !== 'string') {
          const why = answer?.error?.message ? `: ${answer.error.message}` : ''
          return jsonError(res.status === 404 && answer?.error?.code === 'job_not_found' ? 404 : 502, `The export service refused a ticket (HTTP ${res.status})${why}`)
        }
        const publicBase = adminOpts?.publicServiceUrl
        const eventsUrl =
          publicBase && typeof answer.eventsPath === 'string' ? `${toWs(publicBase)}${answer.eventsPath}` : answer.eventsUrl
        return Response.json(
          { jobId: String(doc.jobId), eventsUrl, expiresAt: answer.expiresAt ?? null },
          { headers: { 'Cache-Control': 'no-store' } },
        )
      },
    }

    // ---- the collection --------------------------------------------------------------------
    const fields: Field[] = [
      {
        name: 'type',
        type: 'select',
        required: true,
        options: [
          { label: 'Project PDF', value: 'project-pdf' },
          { label: 'Project ZIP', value: 'project-zip' },
          { label: 'Video', value: 'video' },
        ],
      },
      { name: 'project', type: 'relationship', relationTo: slugs.projects as any, required: true, index: true },
      {
        name: 'params',
        type: 'json',
        admin: { description: 'Options for the export: options / includeMedia / timeline / preset' },
      },
      {
        name: 'status',
        type: 'select',
        defaultValue: 'queued',
        index: true,
        options: JOB_STATUSES.map((v) => ({ label: v, value: v })),
        admin: {
          position: 'sidebar',
          // the edit view shows the status as a live panel: progress, stage, error, download, "Re-run"
          ...(adminOpts
            ? {
                components: {
                  Field: {
                    path: `${CLIENT_MODULE}#ExportRequestStatus`,
                    clientProps: { exportRequestsSlug: slugs.exportRequests, mediaSlug: slugs.media },
                  },
                },
              }
            : {}),
        },
      },
      {
        name: 'progress',
        type: 'number',
        min: 0,
        max: 100,
        defaultValue: 0,
        admin: {
          position: 'sidebar',
          ...(adminOpts
            ? { components: { Cell: { path: `${CLIENT_MODULE}#ExportProgressCell`, clientProps: { exportRequestsSlug: slugs.exportRequests } } } }
            : {}),
        },
      },
      { name: 'stage', type: 'text', admin: { position: 'sidebar' } },
      { name: 'error', type: 'textarea' },
      { name: 'result', type: 'relationship', relationTo: slugs.media as any },
      { name: 'resultUrl', type: 'text' },
      { name: 'jobId', type: 'text', index: true, admin: { position: 'sidebar' } },
      {
        name: 'requestedBy',
        type: 'relationship',
        relationTo: usersSlug as any,
        admin: { position: 'sidebar', readOnly: true },
      },
      {
        name: 'source',
        type: 'select',
        defaultValue: 'admin',
        options: SOURCES.map((v) => ({ label: v, value: v })),
        admin: { position: 'sidebar' },
      },
      { name: 'startedAt', type: 'date', admin: { position: 'sidebar', date: { pickerAppearance: 'dayAndTime' } } },
      { name: 'finishedAt', type: 'date', admin: { position: 'sidebar', date: { pickerAppearance: 'dayAndTime' } } },
    ]

    collections.push({
      slug: slugs.exportRequests,
      labels: { singular: 'Export request', plural: 'Export requests' },
      lockDocuments: false,
      admin: {
        useAsTitle: 'type',
        defaultColumns: ['type', 'project', 'status', 'progress', 'requestedBy', 'updatedAt'],
        group: 'Exports',
      },
      access: { read: readAccess, create: createAccess, update: updateAccess, delete: deleteAccess },
      hooks: { beforeChange: [beforeChange], afterChange: [afterChange] },
      endpoints: [eventsUrlEndpoint],
      fields,
      timestamps: true,
    })
    config.endpoints = [...(config.endpoints ?? []), localesEndpoint(config)]

    return config
  }

export default exportService
