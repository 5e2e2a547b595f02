// Boots a real Payload (SQLite in a temp dir) with the plugin and checks webhook delivery.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'

import { sqliteAdapter } from '@payloadcms/db-sqlite'
import { buildConfig, getPayload } from 'payload'

import { exportService, verifyWebhook } from '../dist/index.js'

const SECRET = 'test-webhook-secret'
const tmp = mkdtempSync(path.join(os.tmpdir(), 'export-plugin-test-'))

// ---- a local receiver --------------------------------------------------------------------
const received = []
let respondWith = 200
let respondDelay = 0
const waiters = []
const receiver = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8')
    const hit = { method: req.method, url: req.url, headers: req.headers, raw, body: JSON.parse(raw) }
    received.push(hit)
    waiters.splice(0).forEach((w) => w(hit))
    setTimeout(() => {
      if (res.destroyed) return
      res.writeHead(respondWith, { 'content-type': 'application/json' })
      res.end('{}')
    }, respondDelay)
  })
})
const nextHit = (ms = 3000) =>
  new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no webhook received')), ms)
    waiters.push((h) => {
      clearTimeout(t)
      resolve(h)
    })
  })

let payload
let port
const users = {}
let project
let privateProject

const roles = (u) => (Array.isArray(u?.roles) ? u.roles : [])
const waitFor = async (fn, ms = 3000) => {
  const until = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 25))
  }
}

before(async () => {
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r))
  port = receiver.address().port
  const config = buildConfig({
    secret: 'test-secret',
    telemetry: false,
    graphQL: { disable: true },
    typescript: { autoGenerate: false },
    db: sqliteAdapter({ client: { url: `file:${path.join(tmp, 'test.db')}` } }),
    collections: [
      {
        slug: 'users',
        auth: { useAPIKey: true },
        fields: [{ name: 'roles', type: 'select', hasMany: true, options: ['admin', 'editor', 'export-service'] }],
      },
      {
        slug: 'projects',
        access: {
          read: ({ req }) =>
            !req.user ? false : roles(req.user).some((r) => r !== 'editor') ? true : { editors: { in: [req.user.id] } },
        },
        fields: [
          { name: 'title', type: 'text' },
          { name: 'editors', type: 'relationship', relationTo: 'users', hasMany: true },
        ],
      },
      { slug: 'media', upload: { staticDir: path.join(tmp, 'media') }, fields: [] },
    ],
    plugins: [exportService({ serviceUrl: `http://127.0.0.1:${port}`, secret: SECRET, timeoutMs: 1000 })],
  })
  payload = await getPayload({ config })
  for (const [k, r] of [['admin', 'admin'], ['editor', 'editor'], ['outsider', 'editor'], ['service', 'export-service']]) {
    users[k] = await payload.create({
      collection: 'users',
      data: { email: `${k}@example.com`, password: 'pw123456', roles: [r] },
    })
    users[k].collection = 'users'
  }
  project = await payload.create({ collection: 'projects', data: { title: 'P', editors: [users.editor.id] } })
  privateProject = await payload.create({ collection: 'projects', data: { title: 'Private', editors: [] } })
})

after(async () => {
  await payload?.destroy?.()
  receiver.close()
  rmSync(tmp, { recursive: true, force: true })
})

const asUser = (u) => ({ user: u, overrideAccess: false })

test('create by an editor sends a signed webhook (without blocking the create)', async () => {
  const hitP = nextHit()
  const t0 = Date.now()
  const doc = await payload.create({
    collection: 'export-requests',
    data: { type: 'project-pdf', project: project.id, params: { preset: 'a4' } },
    depth: 2,
    ...asUser(users.editor),
  })
  assert.equal(doc.status, 'queued')
  assert.equal(doc.progress, 0)
  assert.equal(typeof doc.requestedBy === 'object' ? doc.requestedBy.id : doc.requestedBy, users.editor.id)
  const hit = await hitP
  assert.ok(Date.now() - t0 < 3000)
  assert.equal(hit.method, 'POST')
  assert.equal(hit.url, '/webhooks/payload')
  assert.equal(hit.headers['content-type'], 'application/json')
  assert.match(hit.headers['x-export-signature'], /^t=\d+,v1=[0-9a-f]{64}$/)
  assert.equal(verifyWebhook(SECRET, hit.raw, hit.headers['x-export-signature']), true)
  assert.equal(verifyWebhook('wrong', hit.raw, hit.headers['x-export-signature']), false)
  const b = hit.body
  assert.equal(b.event, 'export-requests.afterChange')
  assert.equal(b.collection, 'export-requests')
  assert.equal(b.operation, 'create')
  assert.deepEqual(b.user, { id: users.editor.id, collection: 'users', email: 'editor@example.com' })
  assert.deepEqual(b.previousDoc, {})
  assert.equal(b.doc.id, doc.id)
  assert.equal(b.doc.project, project.id, 'relationship reduced to id')
  assert.equal(b.doc.requestedBy, users.editor.id)
  assert.deepEqual(b.doc.params, { preset: 'a4' })
  assert.ok(b.changedFields.includes('type') && b.changedFields.includes('project') && b.changedFields.includes('status'))
})

test('access: outsider cannot create for a project they cannot read; editor cannot touch status fields', async () => {
  await assert.rejects(
    payload.create({ collection: 'export-requests', data: { type: 'video', project: project.id }, ...asUser(users.outsider) }),
    /not allowed to read it|invalid: project/,
  )
  await assert.rejects(
    payload.create({ collection: 'export-requests', data: { type: 'video', project: privateProject.id }, ...asUser(users.editor) }),
    /invalid: project/,
  )
  const hitP = nextHit()
  const doc = await payload.create({ collection: 'export-requests', data: { type: 'video', project: project.id }, ...asUser(users.editor) })
  await hitP
  await assert.rejects(
    payload.update({ collection: 'export-requests', id: doc.id, data: { progress: 50 }, ...asUser(users.editor) }),
    /Only the export service may change "progress"/,
  )
  await assert.rejects(
    payload.update({ collection: 'export-requests', id: doc.id, data: { status: 'succeeded' }, ...asUser(users.editor) }),
    /Only the export service may change "status"/,
  )
  // outsider cannot even see it
  const seen = await payload.find({ collection: 'export-requests', ...asUser(users.outsider) })
  assert.equal(seen.totalDocs, 0)
  const seenByEditor = await payload.find({ collection: 'export-requests', ...asUser(users.editor) })
  assert.ok(seenByEditor.totalDocs >= 2)

  // the service may write status fields (and by default is not notified about its own writes)
  const before = received.length
  await payload.update({
    collection: 'export-requests',
    id: doc.id,
    data: { status: 'failed', progress: 40, stage: 'render', error: 'boom', jobId: 'j1', finishedAt: new Date().toISOString() },
    ...asUser(users.service),
  })
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(received.length, before)

  // a person may re-run a failed request: status failed -> queued resets the run state
  const hitP2 = nextHit()
  const rerun = await payload.update({ collection: 'export-requests', id: doc.id, data: { status: 'queued' }, depth: 0, ...asUser(users.editor) })
  assert.equal(rerun.status, 'queued')
  assert.equal(rerun.progress, 0)
  assert.equal(rerun.error, null)
  assert.equal(rerun.stage, null)
  assert.equal(rerun.finishedAt, null)
  assert.equal(rerun.jobId, null)
  const hit = await hitP2
  assert.equal(hit.body.operation, 'update')
  assert.equal(hit.body.previousDoc.status, 'failed')
  assert.equal(hit.body.doc.status, 'queued')
  assert.deepEqual(hit.body.changedFields, ['error', 'finishedAt', 'jobId', 'progress', 'stage', 'status'])

  // delete: admins only
  await assert.rejects(payload.delete({ collection: 'export-requests', id: doc.id, ...asUser(users.editor) }))
  await payload.delete({ collection: 'export-requests', id: doc.id, ...asUser(users.admin) })
})

test('failed delivery (non-2xx) marks the request failed with "export service unreachable"', async () => {
  respondWith = 503
  try {
    const n0 = received.length
    const hitP = nextHit()
    const doc = await payload.create({ collection: 'export-requests', data: { type: 'project-zip', project: project.id }, ...asUser(users.editor) })
    assert.equal(doc.status, 'queued', 'the editor never sees the delivery failure')
    await hitP
    const failed = await waitFor(async () => {
      const d = await payload.findByID({ collection: 'export-requests', id: doc.id, depth: 0 })
      return d.status === 'failed' ? d : null
    })
    assert.match(failed.error, /^export service unreachable: HTTP 503/)
    await new Promise((r) => setTimeout(r, 200))
    // (ids are reused after a delete with SQLite, so count deliveries, not ids)
    assert.equal(received.length - n0, 1, 'internal failure update sends no webhook')
  } finally {
    respondWith = 200
  }
})

test('a slow receiver (> timeoutMs) is recorded as a timeout', async () => {
  respondDelay = 1500
  try {
    const t0 = Date.now()
    const doc = await payload.create({ collection: 'export-requests', data: { type: 'video', project: project.id }, ...asUser(users.editor) })
    assert.ok(Date.now() - t0 < 500, 'create is not blocked by the slow receiver')
    const failed = await waitFor(async () => {
      const d = await payload.findByID({ collection: 'export-requests', id: doc.id, depth: 0 })
      return d.status === 'failed' ? d : null
    }, 4000)
    assert.match(failed.error, /^export service unreachable: timeout after 1000 ms/)
  } finally {
    respondDelay = 0
  }
})

test('network failure (connection refused) is recorded too', async () => {
  // a second plugin instance is overkill: point at a closed port by closing the receiver
  await new Promise((r) => receiver.close(r))
  receiver.closeAllConnections?.()
  const doc = await payload.create({ collection: 'export-requests', data: { type: 'video', project: project.id }, ...asUser(users.editor) })
  const failed = await waitFor(async () => {
    const d = await payload.findByID({ collection: 'export-requests', id: doc.id, depth: 0 })
    return d.status === 'failed' ? d : null
  })
  assert.match(failed.error, /^export service unreachable: ECONNREFUSED/)
})
