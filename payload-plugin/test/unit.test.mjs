import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import {
  DELIVERY_TASK,
  EXPORT_TYPES,
  JOB_STATUSES,
  requestTitle,
  SOURCES,
  changedFields,
  computeSignature,
  exportService,
  parseSignatureHeader,
  reduceToIds,
  signWebhook,
  verifyWebhook,
} from '../dist/index.js'

const BODY = '{"event":"export-requests.afterChange","id":1}'
// Independently computed: printf '%s' "1700000000.$BODY" | openssl dgst -sha256 -hmac dev-webhook-secret
const VECTOR = 'b432e3b8a32dc9e33ea0b052ef9dae368be765844f263a9d3bfc9511aa230795'

test('signWebhook matches a known HMAC-SHA256 vector', () => {
  assert.equal(computeSignature('dev-webhook-secret', 1700000000, BODY), VECTOR)
  assert.equal(signWebhook('dev-webhook-secret', BODY, 1700000000), `t=1700000000,v1=${VECTOR}`)
})

// The same known answers the Python tests check the service's verifier against.
const SHARED = JSON.parse(readFileSync(new URL('../../tests/fixtures/webhook-signatures.json', import.meta.url), 'utf8'))

test('signWebhook matches the known answers shared with the service (tests/fixtures)', () => {
  assert.ok(SHARED.vectors.length >= 2)
  for (const { secret, t, body, header } of SHARED.vectors) {
    assert.equal(signWebhook(secret, body, t), header)
    assert.equal(verifyWebhook(secret, body, header, { now: t + 10 }), true)
  }
})

test('signWebhook defaults t to now (unix seconds)', () => {
  const before = Math.floor(Date.now() / 1000)
  const { t } = parseSignatureHeader(signWebhook('s', 'x'))
  assert.ok(t >= before && t <= before + 2)
})

test('verifyWebhook accepts good, rejects tampered/old/garbage', () => {
  const h = signWebhook('dev-webhook-secret', BODY, 1700000000)
  assert.equal(verifyWebhook('dev-webhook-secret', BODY, h, { now: 1700000010 }), true)
  assert.equal(verifyWebhook('dev-webhook-secret', BODY + ' ', h, { now: 1700000010 }), false)
  assert.equal(verifyWebhook('other', BODY, h, { now: 1700000010 }), false)
  assert.equal(verifyWebhook('dev-webhook-secret', BODY, h, { now: 1700009999 }), false)
  assert.equal(verifyWebhook('dev-webhook-secret', BODY, h, { now: 1700009999, toleranceSec: 0 }), true)
  assert.equal(verifyWebhook('dev-webhook-secret', BODY, 'nonsense'), false)
  assert.equal(verifyWebhook('dev-webhook-secret', BODY, undefined), false)
  assert.equal(verifyWebhook('dev-webhook-secret', BODY, `t=1700000000,v1=${'0'.repeat(64)},v1=${VECTOR}`, { now: 1700000000 }), true)
})

const FIELDS = [
  { name: 'type', type: 'select' },
  { name: 'project', type: 'relationship', relationTo: 'projects' },
  { name: 'result', type: 'relationship', relationTo: 'media' },
  { name: 'many', type: 'upload', relationTo: 'media', hasMany: true },
  { name: 'poly', type: 'relationship', relationTo: ['a', 'b'] },
  { type: 'row', fields: [{ name: 'inRow', type: 'relationship', relationTo: 'users' }] },
  { name: 'grp', type: 'group', fields: [{ name: 'rel', type: 'relationship', relationTo: 'users' }] },
  { name: 'params', type: 'json' },
]

test('reduceToIds reduces populated relationships to ids (depth-0 shape)', () => {
  const doc = {
    id: 7,
    type: 'video',
    project: { id: 1, title: 'P', editors: [{ id: 2 }] },
    result: null,
    many: [{ id: 3, url: '/x' }, 4],
    poly: { relationTo: 'a', value: { id: 9, name: 'n' } },
    inRow: { id: 5, email: 'e' },
    grp: { rel: { id: 6 } },
    params: { id: 'not-a-relationship', nested: { id: 1 } },
  }
  assert.deepEqual(reduceToIds(doc, FIELDS), {
    id: 7,
    type: 'video',
    project: 1,
    result: null,
    many: [3, 4],
    poly: { relationTo: 'a', value: 9 },
    inRow: 5,
    grp: { rel: 6 },
    params: { id: 'not-a-relationship', nested: { id: 1 } },
  })
  assert.deepEqual(reduceToIds(null, FIELDS), {})
  // already-reduced docs are unchanged
  assert.deepEqual(reduceToIds({ project: 1, many: [3] }, FIELDS), { project: 1, many: [3] })
})

test('changedFields lists differing top-level keys, ignoring id/timestamps, null≙missing, deep json', () => {
  const prev = { id: 1, status: 'queued', progress: 0, params: { a: 1, b: [1, 2] }, stage: null, updatedAt: 'x' }
  assert.deepEqual(changedFields({ ...prev, updatedAt: 'y' }, prev), [])
  assert.deepEqual(changedFields({ ...prev, params: { b: [1, 2], a: 1 } }, prev), [])
  assert.deepEqual(changedFields({ ...prev, status: 'running', progress: 5, stage: 'render' }, prev), ['progress', 'stage', 'status'])
  assert.deepEqual(changedFields({ ...prev, params: { a: 1, b: [2, 1] } }, prev), ['params'])
  assert.deepEqual(changedFields({ id: 1, type: 'video', stage: null, createdAt: 'c' }, {}), ['type'])
  const { stage, ...noStage } = prev
  assert.deepEqual(changedFields(noStage, prev), [])
})

test('plugin throws a clear error when the media collection is missing', () => {
  const cfg = { collections: [{ slug: 'projects', fields: [] }, { slug: 'users', auth: true, fields: [] }] }
  assert.throws(() => exportService({})(cfg), /media collection "media"/)
  assert.throws(() => exportService({ collections: { media: 'files' } })(cfg), /media collection "files"/)
})

const baseConfig = () => ({
  collections: [
    { slug: 'users', auth: true, fields: [] },
    { slug: 'projects', fields: [] },
    { slug: 'media', upload: true, fields: [{ name: 'alt', type: 'text' }] },
  ],
})
const REQUEST_FIELDS = ['title', 'type', 'project', 'params', 'status', 'progress', 'stage', 'error', 'notes', 'result', 'resultUrl', 'jobId', 'requestedBy', 'source', 'startedAt', 'finishedAt']
const MEDIA_FIELDS = ['alt', 'exportOf', 'exportRequest', 'exportType', 'sha256', 'bytes', 'exportMeta']
/** Every component path anywhere in a config (import-map entries). */
const componentPaths = (v, out = []) => {
  if (Array.isArray(v)) v.forEach((x) => componentPaths(x, out))
  else if (v && typeof v === 'object') {
    if (typeof v.path === 'string' && v.path.includes('#')) out.push(v.path)
    Object.values(v).forEach((x) => componentPaths(x, out))
  }
  return out
}
/** The database-relevant shape: collection slugs and their data fields (names, types, relations). */
const schema = (cfg) =>
  cfg.collections.map((c) => ({
    slug: c.slug,
    fields: c.fields.filter((f) => f.type !== 'ui').map((f) => [f.name, f.type, f.relationTo ?? null, f.options?.map((o) => o.value ?? o) ?? null]),
  })).concat([{ tasks: cfg.jobs.tasks.map((t) => t.slug) }])

test('plugin adds the collection, media fields, a Jobs Queue task and translations', () => {
  const cfg = baseConfig()
  const out = exportService({ serviceUrl: 'http://x', secret: 's', collections: { exportRequests: 'exports' } })(cfg)
  const er = out.collections.find((c) => c.slug === 'exports')
  assert.ok(er)
  assert.equal(er.lockDocuments, false)
  assert.equal(er.admin.useAsTitle, 'title')
  assert.deepEqual(er.fields.map((f) => f.name), REQUEST_FIELDS)
  const media = out.collections.find((c) => c.slug === 'media')
  assert.deepEqual(media.fields.map((f) => f.name), MEDIA_FIELDS)
  assert.equal(media.fields.find((f) => f.name === 'exportRequest').relationTo, 'exports')
  assert.equal(typeof media.access.read, 'function')
  assert.deepEqual(out.jobs.tasks.map((t) => t.slug), [DELIVERY_TASK])
  assert.deepEqual(out.jobs.tasks[0].retries, { attempts: 8, backoff: { type: 'exponential', delay: 2000 } })
  assert.equal(out.i18n.translations.de['plugin-export-service'].exportPdf, 'PDF exportieren')
  assert.deepEqual(componentPaths(out).sort(), [
    'payload-plugin-export-service/client#ExportActions',
    'payload-plugin-export-service/client#ExportProgressCell',
    'payload-plugin-export-service/client#ExportRequestStatus',
  ])
  // input config not mutated
  assert.equal(cfg.collections.length, 3)
  assert.equal(cfg.collections[2].fields.length, 1)
})

test('select options derive from the one vocabulary', () => {
  assert.deepEqual(JOB_STATUSES, ['queued', 'running', 'succeeded', 'failed', 'cancelled'])
  assert.deepEqual(EXPORT_TYPES, ['project-pdf', 'project-zip', 'video'])
  assert.deepEqual(SOURCES, ['admin', 'rest', 'mcp', 'cli'])
  const er = exportService({})(baseConfig()).collections.find((c) => c.slug === 'export-requests')
  const values = (name) => er.fields.find((f) => f.name === name).options.map((o) => o.value)
  assert.deepEqual(values('status'), [...JOB_STATUSES])
  assert.deepEqual(values('type'), [...EXPORT_TYPES])
  assert.deepEqual(values('source'), [...SOURCES])
})

test('enabled: false / disabled: true keep the schema; no delivery hook work, components or endpoint', () => {
  const on = exportService({ serviceUrl: 'http://x', secret: 's' })(baseConfig())
  for (const off of [exportService({ enabled: false })(baseConfig()), exportService({ disabled: true })(baseConfig())]) {
    assert.deepEqual(schema(off), schema(on))
    assert.deepEqual(componentPaths(off), [])
    const er = off.collections.find((c) => c.slug === 'export-requests')
    assert.deepEqual(er.endpoints, [])
    assert.equal(er.access.read === undefined, false, 'access rules stay')
  }
})

test('admin: false registers no components but keeps the endpoint', () => {
  const out = exportService({ admin: false })(baseConfig())
  assert.deepEqual(componentPaths(out), [])
  const er = out.collections.find((c) => c.slug === 'export-requests')
  assert.deepEqual(er.endpoints.map((e) => e.path), ['/:id/events-url'])
  assert.ok(!out.collections.find((c) => c.slug === 'projects').fields.some((f) => f.name === 'exportServiceActions'))
})

test('custom slugs are used everywhere, and the collection can be overridden', () => {
  const cfg = {
    admin: { user: 'people' },
    collections: [
      { slug: 'people', auth: true, fields: [] },
      { slug: 'films', fields: [] },
      { slug: 'files', upload: true, fields: [] },
    ],
  }
  const out = exportService({
    collections: { projects: 'films', media: 'files', exportRequests: 'film-exports' },
    overrideExportRequestsCollection: ({ collection }) => ({
      ...collection,
      admin: { ...collection.admin, group: 'Ops', hidden: true },
      access: { ...collection.access, delete: () => false },
    }),
  })(cfg)
  const er = out.collections.find((c) => c.slug === 'film-exports')
  assert.equal(er.admin.group, 'Ops')
  assert.equal(er.admin.hidden, true)
  assert.equal(er.access.delete(), false)
  const rel = (name) => er.fields.find((f) => f.name === name).relationTo
  assert.deepEqual([rel('project'), rel('result'), rel('requestedBy')], ['films', 'files', 'people'])
  const files = out.collections.find((c) => c.slug === 'files')
  assert.equal(files.fields.find((f) => f.name === 'exportOf').relationTo, 'films')
  assert.ok(out.collections.find((c) => c.slug === 'films').fields.some((f) => f.name === 'exportServiceActions'))
  assert.throws(() => exportService({ collections: { media: "files" } })(cfg), /projects collection "projects"/)
})

test('requestTitle says what the request is', () => {
  assert.equal(requestTitle('project-pdf', 'The Lighthouse Keeper', new Date('2026-11-25T22:10:31Z')), 'PDF · The Lighthouse Keeper · 2026-11-25 22:10 UTC')
  assert.equal(requestTitle('video', 'X', new Date('2026-01-02T03:04:00Z')), 'Video · X · 2026-01-02 03:04 UTC')
})

test('pdfParams sends only what differs from the service defaults', async () => {
  const { pdfParams } = await import('../dist/admin/pdfParams.js')
  const all = ['cover', 'toc', 'summary', 'details', 'scripts', 'media']
  assert.deepEqual(pdfParams({ paperSize: 'A4', orientation: 'portrait', sections: all }), {})
  assert.deepEqual(pdfParams({ paperSize: 'Letter', orientation: 'landscape', sections: ['media', 'cover'] }), {
    options: { paperSize: 'Letter', orientation: 'landscape', sections: ['cover', 'media'] },
  })
})

test("withLocale sends the admin's current locale, and nothing without localization", async () => {
  const { withLocale } = await import('../dist/admin/pdfParams.js')
  const de = { code: 'de', label: 'Deutsch' }
  assert.deepEqual(withLocale({}, de), { options: { locale: 'de' } })
  assert.deepEqual(withLocale({ options: { paperSize: 'Letter' } }, de), { options: { paperSize: 'Letter', locale: 'de' } })
  assert.deepEqual(withLocale({ includeMedia: true }, de), { includeMedia: true, options: { locale: 'de' } })
  // useLocale() without localization: {} (false in older Payloads)
  assert.deepEqual(withLocale({ preset: '720p-h264' }, {}), { preset: '720p-h264' })
  assert.deepEqual(withLocale({}, false), {})
})
