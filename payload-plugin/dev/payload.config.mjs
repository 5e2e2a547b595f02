// Dev Payload config: plain ESM (no tsx), SQLite, REST only (no Next.js admin UI).
import { sqliteAdapter } from '@payloadcms/db-sqlite'
import { buildConfig } from 'payload'

import { exportService } from '../dist/index.js'
import {
  DATABASE_PATH,
  ensureDirs,
  EXPORT_SERVICE_URL,
  EXPORT_WEBHOOK_SECRET,
  MEDIA_DIR,
  PAYLOAD_SECRET,
  SERVER_URL,
} from './env.mjs'

ensureDirs()

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

export default buildConfig({
  secret: PAYLOAD_SECRET,
  serverURL: SERVER_URL,
  telemetry: false,
  graphQL: { disable: true },
  typescript: { autoGenerate: false },
  // 'default' avatar: the Gravatar one needs the internet.
  admin: { user: 'users', avatar: 'default' },
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
      access: {
        read: projectRead,
        create: ({ req }) => isAdmin(req.user) || roles(req.user).includes('editor'),
        update: projectRead,
        delete: adminOnly,
      },
      fields: [
        { name: 'title', type: 'text', required: true },
        { name: 'logline', type: 'text' },
        lexicalJson('summary'),
        { name: 'coverImage', type: 'upload', relationTo: 'media' },
        { name: 'media', type: 'upload', relationTo: 'media', hasMany: true },
        { name: 'timeline', type: 'json' },
        { name: 'editors', type: 'relationship', relationTo: 'users', hasMany: true, index: true },
      ],
    },
    {
      slug: 'scripts',
      admin: { useAsTitle: 'title' },
      defaultSort: 'order',
      access: { read: scriptRead, create: loggedIn, update: scriptRead, delete: adminOnly },
      fields: [
        { name: 'title', type: 'text', required: true },
        { name: 'project', type: 'relationship', relationTo: 'projects', required: true, index: true },
        {
          name: 'kind',
          type: 'select',
          defaultValue: 'script',
          options: ['script', 'story', 'treatment', 'notes'],
        },
        lexicalJson('body'),
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
  plugins: [
    exportService({
      serviceUrl: EXPORT_SERVICE_URL,
      secret: EXPORT_WEBHOOK_SECRET,
      timeoutMs: Number(process.env.EXPORT_WEBHOOK_TIMEOUT_MS || 5000),
    }),
  ],
})
