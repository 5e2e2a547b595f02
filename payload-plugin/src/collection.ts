// The `export-requests` collection and the fields the plugin adds to projects and media.
import type { CollectionConfig, Field } from 'payload'

import { exportRequestAccess } from './access.js'
import { eventsUrlEndpoint } from './endpoints.js'
import { afterChangeHook, beforeChangeHook } from './hooks.js'
import type { Resolved } from './options.js'
import { NAMESPACE, tKey, translations, type PluginTranslationKey } from './translations/index.js'
import { EXPORT_TYPES, JOB_STATUSES, SOURCES } from './vocabulary.js'

/** Module the admin components are imported from (Payload import map paths). */
export const CLIENT_MODULE = 'payload-plugin-export-service/client'

/** A label Payload translates in the admin's language. */
export const label = (key: PluginTranslationKey): any => ({ t }: { t: (k: string) => string }) => t(tKey(key))

/** A static label per language, where Payload takes no label function (e.g. `admin.group`). */
export const byLanguage = (key: PluginTranslationKey): Record<string, string> =>
  Object.fromEntries(Object.entries(translations).map(([lang, t]) => [lang, t[NAMESPACE][key]]))

const options = (values: readonly string[]) => values.map((value) => ({ label: label(value as PluginTranslationKey), value }))

const sidebar = (extra: Record<string, unknown> = {}) => ({ position: 'sidebar' as const, readOnly: true, ...extra })

export function exportRequestFields(o: Resolved, withAdmin: boolean): Field[] {
  const component = (name: string, clientProps: Record<string, unknown>) =>
    withAdmin ? { path: `${CLIENT_MODULE}#${name}`, clientProps } : undefined
  const statusField = component('ExportRequestStatus', { exportRequestsSlug: o.slugs.exportRequests, mediaSlug: o.slugs.media })
  const progressCell = component('ExportProgressCell', { exportRequestsSlug: o.slugs.exportRequests })
  const date = { date: { pickerAppearance: 'dayAndTime' as const } }
  return [
    { name: 'title', type: 'text', label: label('title'), admin: { readOnly: true } },
    { name: 'type', type: 'select', label: label('type'), required: true, options: options(EXPORT_TYPES) },
    { name: 'project', type: 'relationship', label: label('project'), relationTo: o.slugs.projects as any, required: true, index: true },
    { name: 'params', type: 'json', label: label('params'), admin: { description: label('paramsDescription') } },
    {
      name: 'status',
      type: 'select',
      label: label('status'),
      defaultValue: 'queued',
      index: true,
      options: options(JOB_STATUSES),
      admin: { position: 'sidebar', ...(statusField ? { components: { Field: statusField } } : {}) },
    },
    {
      name: 'progress',
      type: 'number',
      label: label('progress'),
      min: 0,
      max: 100,
      defaultValue: 0,
      admin: sidebar(progressCell ? { components: { Cell: progressCell } } : {}),
    },
    { name: 'stage', type: 'text', label: label('stage'), admin: sidebar() },
    { name: 'error', type: 'textarea', label: label('error'), admin: { readOnly: true } },
    // what the service wants the requester to know that is not an error, one sentence a line
    { name: 'notes', type: 'textarea', label: label('notes'), admin: { readOnly: true } },
    { name: 'result', type: 'relationship', label: label('result'), relationTo: o.slugs.media as any, admin: { readOnly: true } },
    { name: 'resultUrl', type: 'text', label: label('resultUrl'), admin: { readOnly: true } },
    { name: 'jobId', type: 'text', label: label('jobId'), index: true, admin: sidebar() },
    { name: 'requestedBy', type: 'relationship', label: label('requestedBy'), relationTo: o.slugs.users as any, admin: sidebar() },
    { name: 'source', type: 'select', label: label('source'), defaultValue: 'admin', options: options(SOURCES), admin: sidebar() },
    { name: 'startedAt', type: 'date', label: label('startedAt'), admin: sidebar(date) },
    { name: 'finishedAt', type: 'date', label: label('finishedAt'), admin: sidebar(date) },
  ]
}

export function exportRequestsCollection(o: Resolved, withAdmin: boolean): CollectionConfig {
  return {
    slug: o.slugs.exportRequests,
    labels: { singular: label('exportRequest'), plural: label('exportRequests') },
    lockDocuments: false,
    admin: {
      useAsTitle: 'title',
      defaultColumns: ['title', 'status', 'progress', 'requestedBy', 'createdAt'],
      group: byLanguage('exports'),
    },
    access: exportRequestAccess(o),
    hooks: { beforeChange: [beforeChangeHook(o)], afterChange: [afterChangeHook(o)] },
    endpoints: o.enabled ? [eventsUrlEndpoint(o)] : [],
    fields: exportRequestFields(o, withAdmin),
    timestamps: true,
  }
}

export function mediaFields(o: Resolved): Field[] {
  const ro = { readOnly: true }
  return [
    { name: 'exportOf', type: 'relationship', label: label('exportOf'), relationTo: o.slugs.projects as any, index: true, admin: ro },
    { name: 'exportRequest', type: 'relationship', label: label('exportRequest'), relationTo: o.slugs.exportRequests as any, admin: ro },
    { name: 'exportType', type: 'text', label: label('exportType'), admin: ro },
    { name: 'sha256', type: 'text', label: label('sha256'), admin: ro },
    { name: 'bytes', type: 'number', label: label('bytes'), admin: ro },
    { name: 'exportMeta', type: 'json', label: label('exportMeta'), admin: ro },
  ]
}

export function projectActionsField(o: Resolved): Field {
  const a = o.admin!
  return {
    name: 'exportServiceActions',
    type: 'ui',
    admin: {
      position: 'sidebar',
      components: {
        Field: {
          path: `${CLIENT_MODULE}#ExportActions`,
          clientProps: {
            exportRequestsSlug: o.slugs.exportRequests,
            timelineField: a.timelineField,
            videoPresets: a.videoPresets,
            lastExports: a.lastExports,
          },
        },
      },
    },
  }
}
