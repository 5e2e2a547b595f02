import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import {
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

test('plugin adds the collection and media fields', () => {
  const cfg = {
    collections: [
      { slug: 'users', auth: true, fields: [] },
      { slug: 'projects', fields: [] },
      { slug: 'media', upload: true, fields: [{ name: 'alt', type: 'text' }] },
    ],
  }
  const out = exportService({ serviceUrl: 'http://x', secret: 's', collections: { exportRequests: 'exports' } })(cfg)
  const er = out.collections.find((c) => c.slug === 'exports')
  assert.ok(er)
  assert.equal(er.lockDocuments, false)
  assert.deepEqual(
    er.fields.map((f) => f.name),
    ['type', 'project', 'params', 'status', 'progress', 'stage', 'error', 'result', 'resultUrl', 'jobId', 'requestedBy', 'source', 'startedAt', 'finishedAt'],
  )
  const media = out.collections.find((c) => c.slug === 'media')
  assert.deepEqual(media.fields.map((f) => f.name), ['alt', 'exportOf', 'exportRequest', 'exportType', 'sha256', 'bytes', 'exportMeta'])
  assert.equal(media.fields.find((f) => f.name === 'exportRequest').relationTo, 'exports')
  // input config not mutated
  assert.equal(cfg.collections.length, 3)
  assert.equal(cfg.collections[2].fields.length, 1)
})
