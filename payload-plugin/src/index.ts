import type { CollectionConfig, Config, Plugin } from 'payload'
import { deepMergeSimple } from 'payload'

import { mediaReadAccess } from './access.js'
import { exportRequestsCollection, mediaFields, projectActionsField } from './collection.js'
import { deliveryTask } from './delivery.js'
import { localesEndpoint } from './locales.js'
import { mediaBeforeChangeHook } from './hooks.js'
import { type ExportServiceOptions, resolveOptions } from './options.js'
import { translations } from './translations/index.js'

export * from './webhook.js'
export * from './vocabulary.js'
export { CLIENT_MODULE } from './collection.js'
export { DELIVERY_TASK } from './delivery.js'
export { STATUS_FIELDS, requestTitle } from './hooks.js'
export { defaultIsAdmin, defaultIsService } from './options.js'
export type * from './options.js'
export { translations } from './translations/index.js'
export type { PluginTranslationKeys, PluginTranslations } from './translations/index.js'

const fail = (message: string): never => {
  throw new Error(`[export-service] ${message}`)
}

/**
 * Connects Payload to the export service: adds the `export-requests` collection (the job store),
 * export fields and result read access on media, Export buttons on projects, a Jobs Queue task that
 * delivers each change to the service (signed, retried with backoff), and translations.
 */
export const exportService =
  (opts: ExportServiceOptions = {}): Plugin =>
  (incoming: Config): Config => {
    const collections = [...(incoming.collections ?? [])] as CollectionConfig[]
    const find = (slug: string) => collections.findIndex((c) => c.slug === slug)
    const usersSlug = opts.usersCollection ?? incoming.admin?.user ?? collections.find((c) => c.auth)?.slug ?? 'users'
    const o = resolveOptions(opts, usersSlug)
    const { slugs } = o

    const mediaIndex = find(slugs.media)
    const projectsIndex = find(slugs.projects)
    if (mediaIndex < 0) fail(`the media collection "${slugs.media}" is not in the Payload config; add an upload collection with that slug or pass collections.media`)
    if (projectsIndex < 0) fail(`the projects collection "${slugs.projects}" is not in the Payload config; pass collections.projects`)
    if (find(slugs.exportRequests) >= 0) fail(`a collection with slug "${slugs.exportRequests}" already exists; pass another collections.exportRequests`)
    if (find(usersSlug) < 0) fail(`the auth collection "${usersSlug}" is not in the Payload config; pass usersCollection`)
    if (o.enabled && (!o.serviceUrl || !o.secret)) {
      // Not fatal, so a half-configured dev box still boots; every delivery fails with this reason.
      console.warn('[export-service] serviceUrl and/or secret missing: deliveries to the service will fail')
    }
    const withAdmin = o.enabled && o.admin !== null

    // Schema first, the same whether the plugin is enabled or not (migrations do not change).
    const media = collections[mediaIndex]
    collections[mediaIndex] = {
      ...media,
      fields: [...(media.fields ?? []), ...mediaFields(o)],
      access: { ...media.access, read: mediaReadAccess(o, media.access?.read) },
      hooks: { ...media.hooks, beforeChange: [...(media.hooks?.beforeChange ?? []), mediaBeforeChangeHook(o)] },
    }
    if (withAdmin) {
      const projects = collections[projectsIndex]
      collections[projectsIndex] = { ...projects, fields: [...(projects.fields ?? []), projectActionsField(o)] }
    }
    const own = exportRequestsCollection(o, withAdmin)
    collections.push(opts.overrideExportRequestsCollection ? opts.overrideExportRequestsCollection({ collection: own }) : own)

    return {
      ...incoming,
      collections,
      jobs: { ...incoming.jobs, tasks: [...(incoming.jobs?.tasks ?? []), deliveryTask(o)] },
      endpoints: [...(incoming.endpoints ?? []), localesEndpoint(incoming)],
      i18n: {
        ...incoming.i18n,
        translations: deepMergeSimple(translations, (incoming.i18n?.translations ?? {}) as any) as any,
      },
    }
  }

export default exportService
