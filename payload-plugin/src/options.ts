import type { CollectionConfig, CollectionSlug } from 'payload'

import type { JobStatus } from './vocabulary.js'

export type AnyUser =
  | (Record<string, any> & { id?: number | string; collection?: string; email?: string; roles?: unknown })
  | null
  | undefined

export type ExportServiceCollections = {
  /** slug of the projects collection (default `projects`) */
  projects?: CollectionSlug
  /** slug of the upload collection results are stored in (default `media`) */
  media?: CollectionSlug
  /** slug of the scripts collection (default `scripts`; informational, not required) */
  scripts?: CollectionSlug
  /** slug of the collection this plugin adds (default `export-requests`) */
  exportRequests?: string
}

export type ExportServiceAdminOptions = {
  /** Project field holding the video timeline (`{ clips: [...] }`); default `timeline`. */
  timelineField?: string
  /** Video presets offered on the project view (first is the default). */
  videoPresets?: string[]
  /** How many of the project's last exports its sidebar lists (default 5; 0 hides the list). */
  lastExports?: number
  /**
   * Base URL of the export service as the editors' browsers reach it, for the live-progress
   * WebSocket (default: the service's own `eventsUrl`, i.e. `serviceUrl`).
   */
  publicServiceUrl?: string
}

export type ExportServiceDeliveryOptions = {
  /** Retries after the first attempt (default 8: with the default backoff about 8.5 minutes in all). */
  retries?: number
  /** Base delay of the exponential backoff, in ms (default 2000: 2 s, 4 s, 8 s, …). */
  backoffMs?: number
  /** Jobs Queue the delivery task is queued on (default `default`). */
  queue?: string
  /**
   * Try the delivery at once, in this process, after the change is committed (default true). The
   * queued job stays the safety net: a runner (`jobs.autoRun`, `payload jobs:run`, or the
   * `/api/payload-jobs/run` endpoint) retries it when this attempt fails or never happens.
   */
  inline?: boolean
  /** How long a fresh delivery job waits before a runner may pick it up, in ms (default 10000), so
   * the inline attempt and a runner do not deliver the same change together. */
  inlineGraceMs?: number
}

export type ExportServiceEmailOptions = {
  /** Statuses that send the requester an e-mail (default: every terminal status). */
  statuses?: JobStatus[]
}

export type ExportServiceOptions = {
  /** Base URL of the export service; webhooks go to `${serviceUrl}/webhooks/payload`. */
  serviceUrl?: string
  /** Shared HMAC secret for `X-Export-Signature`. */
  secret?: string
  collections?: ExportServiceCollections
  /** Who is the export service (may write the status fields). Default: `roles` includes `export-service`. */
  isService?: (user: AnyUser) => boolean
  /** Who may read and delete every request. Default: `roles` includes `admin`. */
  isAdmin?: (user: AnyUser) => boolean
  /** Auth collection `requestedBy` points to. Default: `config.admin.user`, else the first auth collection. */
  usersCollection?: CollectionSlug
  /** Timeout of one delivery attempt and of a ticket request, in ms (default 5000). */
  timeoutMs?: number
  /**
   * `false` (or `disabled: true`): the collection, the fields and the Jobs Queue task stay (the
   * database schema does not change), but nothing is delivered, no admin component, endpoint or
   * e-mail is added. Default true.
   */
  enabled?: boolean
  /** The opposite of `enabled`, as Payload's plugin template names it. */
  disabled?: boolean
  /** Also deliver changes the service user makes itself (default false). */
  notifyServiceChanges?: boolean
  /** Called when a delivery attempt fails (default: a warning through `payload.logger`). */
  onDeliveryError?: (err: Error, ctx: { id: number | string; collection: string; attempt: number; final: boolean }) => void
  /** Admin components (default true); `false` registers none. */
  admin?: boolean | ExportServiceAdminOptions
  /** Delivery through Payload's Jobs Queue. */
  delivery?: ExportServiceDeliveryOptions
  /** E-mail the requester (through the configured email adapter) when an export ends. Default false. */
  email?: boolean | ExportServiceEmailOptions
  /** Change the `export-requests` collection the plugin adds (access, admin group, hidden, …). */
  overrideExportRequestsCollection?: (args: { collection: CollectionConfig }) => CollectionConfig
  /** Log every delivery, retry and skipped change through `payload.logger.info`. */
  debug?: boolean
  /**
   * With `@payloadcms/plugin-multi-tenant`: the tenant field's name (default `tenant`). When the
   * export request or the media collection has this field, the plugin copies the project's tenant
   * onto new export requests and onto export results (`exportOf` set), so the service's writes
   * carry the project's tenant without the service knowing about tenants.
   */
  tenantField?: string
}

/** The options with every default applied. */
export type Resolved = {
  serviceUrl: string | undefined
  secret: string | undefined
  slugs: { projects: string; media: string; scripts: string; exportRequests: string; users: string }
  isService: (user: AnyUser) => boolean
  isAdmin: (user: AnyUser) => boolean
  timeoutMs: number
  enabled: boolean
  notifyServiceChanges: boolean
  onDeliveryError?: ExportServiceOptions['onDeliveryError']
  admin: Required<Omit<ExportServiceAdminOptions, 'publicServiceUrl'>> & { publicServiceUrl?: string } | null
  delivery: Required<ExportServiceDeliveryOptions>
  email: { statuses: JobStatus[] } | null
  debug: boolean
  tenantField: string
}

export const defaultIsService = (user: AnyUser): boolean =>
  Array.isArray(user?.roles) && (user.roles as unknown[]).includes('export-service')

export const defaultIsAdmin = (user: AnyUser): boolean =>
  Array.isArray(user?.roles) && (user.roles as unknown[]).includes('admin')

export const DEFAULT_VIDEO_PRESETS = ['720p-h264', '1080p-h264', '360p-h264']

export function resolveOptions(opts: ExportServiceOptions, usersSlug: string): Resolved {
  const admin = opts.admin === false ? null : typeof opts.admin === 'object' ? opts.admin : {}
  const email = opts.email ? (typeof opts.email === 'object' ? opts.email : {}) : null
  return {
    serviceUrl: opts.serviceUrl,
    secret: opts.secret,
    slugs: {
      projects: opts.collections?.projects ?? 'projects',
      media: opts.collections?.media ?? 'media',
      scripts: opts.collections?.scripts ?? 'scripts',
      exportRequests: opts.collections?.exportRequests ?? 'export-requests',
      users: usersSlug,
    },
    isService: opts.isService ?? defaultIsService,
    isAdmin: opts.isAdmin ?? defaultIsAdmin,
    timeoutMs: opts.timeoutMs ?? 5000,
    enabled: opts.disabled !== true && opts.enabled !== false,
    notifyServiceChanges: opts.notifyServiceChanges ?? false,
    onDeliveryError: opts.onDeliveryError,
    admin: admin && {
      timelineField: admin.timelineField ?? 'timeline',
      videoPresets: admin.videoPresets?.length ? admin.videoPresets : DEFAULT_VIDEO_PRESETS,
      lastExports: admin.lastExports ?? 5,
      publicServiceUrl: admin.publicServiceUrl,
    },
    delivery: {
      retries: opts.delivery?.retries ?? 8,
      backoffMs: opts.delivery?.backoffMs ?? 2000,
      queue: opts.delivery?.queue ?? 'default',
      inline: opts.delivery?.inline ?? true,
      inlineGraceMs: opts.delivery?.inlineGraceMs ?? 10_000,
    },
    email: email && { statuses: email.statuses ?? ['succeeded', 'failed', 'cancelled'] },
    debug: opts.debug ?? false,
    tenantField: opts.tenantField ?? 'tenant',
  }
}
