// The dev Payload's schema and settings, shared by the REST-only server (dev/payload.config.mjs, the
// plugin from ../dist) and the Next.js admin app made from app-template/ (the plugin installed from
// its packed tarball). Plain ESM, no TypeScript, so both load it without a build step.
import { sqliteAdapter } from '@payloadcms/db-sqlite'
import { de } from '@payloadcms/translations/languages/de'
import { en } from '@payloadcms/translations/languages/en'

import {
  DATABASE_PATH,
  ensureDirs,
  EXPORT_SERVICE_URL,
  EXPORT_WEBHOOK_SECRET,
  MEDIA_DIR,
  PAYLOAD_SECRET,
  SERVER_URL,
} from './env.mjs'

const roles = (user) => (Array.isArray(user?.roles) ? user.roles : [])
const isAdmin = (user) => roles(user).includes('admin')
const isService = (user) => roles(user).includes('export-service')
const loggedIn = ({ req }) => Boolean(req.user)
const adminOnly = ({ req }) => isAdmin(req.user)

/** Projects: admins and the export service see everything, others only projects they edit. */
const projectRead = ({ req }) => {
  const user = req.user
  if (!user) return false
  if (isAdmin(user) || isService(user)) return true
  return { editors: { in: [user.id] } }
}

/** Scripts follow their project's rule (query through the relationship). */
const scriptRead = ({ req }) => {
  const user = req.user
  if (!user) return false
  if (isAdmin(user) || isService(user)) return true
  return { 'project.editors': { in: [user.id] } }
}

/** Rich text is stored as Lexical editor-state JSON in a `json` field (see README: no Next.js here). */
const lexicalJson = (name, extra = {}) => ({
  name,
  type: 'json',
  admin: { description: 'Lexical editor state JSON ({"root":{...}})' },
  ...extra,
})

/** How often the dev Payload runs its Jobs Queue (delivery retries), as a croner pattern with seconds. */
export const JOBS_CRON = process.env.PAYLOAD_JOBS_CRON || '*/5 * * * * *'

/**
 * The options of `buildConfig`, with `exportService` (imported by the caller) as the plugin.
 * @param {(options: import('payload-plugin-export-service').ExportServiceOptions) => import('payload').Plugin} exportService
 * @returns {import('payload').Config}
 */
export function devConfig(exportService) {
  ensureDirs()
  return {
    secret: PAYLOAD_SECRET,
    serverURL: SERVER_URL,
    telemetry: false,
    // English and German content (the seed has both); exports choose with options.locale.
    localization: { locales: ['en', 'de'], defaultLocale: 'en', fallback: true },
    graphQL: { disable: true },
    typescript: { autoGenerate: false },
    // 'default' avatar: the Gravatar one needs the internet.
    admin: { user: 'users', avatar: 'default' },
    // the admin in the browser's language: English or German (the plugin translates both)
    i18n: { supportedLanguages: { en, de }, fallbackLanguage: 'en' },
    db: sqliteAdapter({
      client: { url: `file:${DATABASE_PATH}` },
      // PAYLOAD_ID_TYPE=uuid: string ids, as with MongoDB (the e2e tests check both kinds).
      idType: process.env.PAYLOAD_ID_TYPE === 'uuid' ? 'uuid' : 'number',
      push: true,
    }),
    collections: [
      {
        slug: 'users',
        auth: { useAPIKey: true },
        admin: { useAsTitle: 'email' },
        access: {
          read: ({ req }) => {
            if (!req.user) return false
            if (isAdmin(req.user) || isService(req.user)) return true
            return { id: { equals: req.user.id } }
          },
          create: adminOnly,
          update: ({ req }) => (isAdmin(req.user) ? true : req.user ? { id: { equals: req.user.id } } : false),
          delete: adminOnly,
        },
        fields: [
          {
            name: 'roles',
            type: 'select',
            hasMany: true,
            options: ['admin', 'editor', 'export-service'],
            defaultValue: ['editor'],
            saveToJWT: true,
            access: { update: ({ req }) => isAdmin(req.user) },
          },
        ],
      },
      {
        // A second auth collection: the e2e tests run the service with PAYLOAD_AUTH_COLLECTION=operators.
        slug: 'operators',
        auth: { useAPIKey: true },
        admin: { useAsTitle: 'email' },
        access: { read: loggedIn, create: adminOnly, update: adminOnly, delete: adminOnly },
        fields: [
          { name: 'roles', type: 'select', hasMany: true, options: ['admin', 'export-service'], saveToJWT: true },
        ],
      },
      {
        slug: 'projects',
        admin: { useAsTitle: 'title' },
        versions: { drafts: true },
        access: {
          read: projectRead,
          create: ({ req }) => isAdmin(req.user) || roles(req.user).includes('editor'),
          update: projectRead,
          delete: adminOnly,
        },
        fields: [
          { name: 'title', type: 'text', required: true, localized: true },
          { name: 'logline', type: 'text', localized: true },
          lexicalJson('summary', { localized: true }),
          { name: 'coverImage', type: 'upload', relationTo: 'media' },
          { name: 'media', type: 'upload', relationTo: 'media', hasMany: true },
          { name: 'timeline', type: 'json' },
          { name: 'editors', type: 'relationship', relationTo: 'users', hasMany: true, index: true },
          {
            name: 'team',
            type: 'array',
            fields: [
              { name: 'name', type: 'text', required: true },
              { name: 'role', type: 'text', localized: true },
            ],
          },
        ],
      },
      {
        slug: 'scripts',
        admin: { useAsTitle: 'title' },
        versions: { drafts: true },
        defaultSort: 'order',
        access: { read: scriptRead, create: loggedIn, update: scriptRead, delete: adminOnly },
        fields: [
          { name: 'title', type: 'text', required: true, localized: true },
          { name: 'project', type: 'relationship', relationTo: 'projects', required: true, index: true },
          {
            name: 'kind',
            type: 'select',
            defaultValue: 'script',
            options: ['script', 'story', 'treatment', 'notes'],
          },
          lexicalJson('body', { localized: true }),
          { name: 'order', type: 'number', defaultValue: 0 },
        ],
      },
      {
        slug: 'media',
        // images, PDFs, zips, video, audio: mimeTypes deliberately unset (anything Payload can identify)
        upload: { staticDir: MEDIA_DIR },
        access: { read: loggedIn, create: loggedIn, update: loggedIn, delete: adminOnly },
        fields: [{ name: 'alt', type: 'text' }],
      },
    ],
    // Deliveries are retried by the Jobs Queue: run it in-process (dev only; see the README).
    jobs: { autoRun: [{ cron: JOBS_CRON, queue: 'default' }] },
    plugins: [
      exportService({
        serviceUrl: EXPORT_SERVICE_URL,
        secret: EXPORT_WEBHOOK_SECRET,
        timeoutMs: Number(process.env.EXPORT_WEBHOOK_TIMEOUT_MS || 5000),
        delivery: { backoffMs: Number(process.env.EXPORT_DELIVERY_BACKOFF_MS || 2000), inlineGraceMs: 5000 },
        debug: process.env.EXPORT_PLUGIN_DEBUG === '1',
      }),
    ],
  }
}
