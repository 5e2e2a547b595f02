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
const emails = []

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
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

before(async () => {
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r))
  port = receiver.address().port
  const config = buildConfig({
    secret: 'test-secret',
    telemetry: false,
    graphQL: { disable: true },
    typescript: { autoGenerate: false },
    db: sqliteAdapter({ client: { url: `file:${path.join(tmp, 'test.db')}` } }),
    email: () => ({
      name: 'test',
      defaultFromAddress: 'cms@example.com',
      defaultFromName: 'CMS',
      sendEmail: async (message) => emails.push(message),
    }),
    collections: [
      {
        slug: 'users',
        auth: { useAPIKey: true },
        fields: [{ name: 'roles', type: 'select', hasMany: true, options: ['admin', 'editor', 'export-service'] }],
      },
      {
        slug: 'projects',
        admin: { useAsTitle: 'title' },
        access: {
          read: ({ req }) =>
            !req.user ? false : roles(req.user).some((r) => r !== 'editor') ? true : { editors: { in: [req.user.id] } },
        },
        fields: [
          { name: 'title', type: 'text' },
          { name: 'editors', type: 'relationship', relationTo: 'users', hasMany: true },
          { name: 'tenant', type: 'text' }, // as @payloadcms/plugin-multi-tenant would add it
        ],
      },
      { slug: 'media', upload: { staticDir: path.join(tmp, 'media') }, fields: [{ name: 'tenant', type: 'text' }] },
    ],
    plugins: [
      exportService({
        serviceUrl: `http://127.0.0.1:${port}`,
        secret: SECRET,
        timeoutMs: 1000,
        // the test is the Jobs Queue runner: no runner races the inline attempt
        delivery: { retries: 1, backoffMs: 50, inlineGraceMs: 60_000 },
        email: true,
        overrideExportRequestsCollection: ({ collection }) => ({
          ...collection,
          fields: [...collection.fields, { name: 'tenant', type: 'text' }],
        }),
      }),
    ],
  })
  payload = await getPayload({ config })
  for (const [k, r] of [['admin', 'admin'], ['editor', 'editor'], ['outsider', 'editor'], ['service', 'export-service']]) {
    users[k] = await payload.create({
      collection: 'users',
      data: { email: `${k}@example.com`, password: 'pw123456', roles: [r] },
    })
    users[k].collection = 'users'
  }
  project = await payload.create({ collection: 'projects', data: { title: 'P', editors: [users.editor.id], tenant: 'studio-a' } })
  privateProject = await payload.create({ collection: 'projects', data: { title: 'Private', editors: [] } })
})

after(async () => {
  await payload?.destroy?.()
  receiver.close()
  rmSync(tmp, { recursive: true, force: true })
})

const asUser = (u) => ({ user: u, overrideAccess: false })
const asService = (id, data) =>
  payload.update({ collection: 'export-requests', id, data, depth: 0, ...asUser(users.service) })
/** Runs the Jobs Queue once the last delivery's backoff has passed (as autoRun would). */
const runQueue = async () => {
  await sleep(150)
  return payload.jobs.run({ queue: 'default' })
}
/** Waits until earlier tests' deliveries are done, so a test's hits are its own. */
const settle = () =>
  waitFor(async () => (await payload.count({ collection: 'payload-jobs', where: { hasError: { not_equals: true } } })).totalDocs === 0)
const deliveryJobs = async (id) =>
  (await payload.find({ collection: 'payload-jobs', where: { 'input.exportRequest': { equals: String(id) } }, depth: 0 })).docs

test('create by an editor sends a signed webhook (without blocking the create)', async () => {
  const hitP = nextHit()
  const t0 = Date.now()
  const doc = await payload.create({
    collection: 'export-requests',
    data: { type: 'project-pdf', project: project.id, params: { options: { paperSize: 'Letter' } } },
    depth: 2,
    ...asUser(users.editor),
  })
  assert.equal(doc.status, 'queued')
  assert.equal(doc.progress, 0)
  assert.match(doc.title, /^PDF · P · \d{4}-\d\d-\d\d \d\d:\d\d UTC$/)
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
  assert.deepEqual(b.doc.params, { options: { paperSize: 'Letter' } })
  assert.ok(b.changedFields.includes('type') && b.changedFields.includes('project') && b.changedFields.includes('status'))
  // the delivery job completed and is gone (deleteJobOnComplete)
  await waitFor(async () => (await deliveryJobs(doc.id)).length === 0)
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
  // params never choose the project
  await assert.rejects(
    payload.create({
      collection: 'export-requests',
      data: { type: 'project-pdf', project: project.id, params: { projectId: privateProject.id } },
      ...asUser(users.editor),
    }),
    /invalid: params/,
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
  await assert.rejects(
    payload.update({ collection: 'export-requests', id: doc.id, data: { notes: 'all fine' }, ...asUser(users.editor) }),
    /Only the export service may change "notes"/,
  )
  const seen = await payload.find({ collection: 'export-requests', ...asUser(users.outsider) })
  assert.equal(seen.totalDocs, 0)
  const seenByEditor = await payload.find({ collection: 'export-requests', ...asUser(users.editor) })
  assert.ok(seenByEditor.totalDocs >= 2)

  // the service writes status fields and is not notified about its own writes
  const before = received.length
  await asService(doc.id, { status: 'failed', progress: 40, stage: 'render', error: 'boom', notes: 'projects has no drafts: exporting the saved version', jobId: 'j1', finishedAt: new Date().toISOString() })
  await sleep(200)
  assert.equal(received.length, before)

  // a person re-runs a failed request: failed -> queued resets the run state
  const hitP2 = nextHit()
  const rerun = await payload.update({ collection: 'export-requests', id: doc.id, data: { status: 'queued' }, depth: 0, ...asUser(users.editor) })
  assert.equal(rerun.status, 'queued')
  assert.equal(rerun.progress, 0)
  assert.equal(rerun.error, null)
  assert.equal(rerun.notes, null)
  assert.equal(rerun.stage, null)
  assert.equal(rerun.finishedAt, null)
  assert.equal(rerun.jobId, null)
  const hit = await hitP2
  assert.equal(hit.body.operation, 'update')
  assert.deepEqual(hit.body.user, { id: users.editor.id, collection: 'users', email: 'editor@example.com' })
  assert.equal(hit.body.previousDoc.status, 'failed')
  assert.equal(hit.body.doc.status, 'queued')
  assert.deepEqual(hit.body.changedFields, ['error', 'finishedAt', 'jobId', 'notes', 'progress', 'stage', 'status'])

  // cancelled is terminal and re-runnable like failed
  await asService(doc.id, { status: 'cancelled', error: 'cancelled by editor@example.com' })
  const hitP3 = nextHit()
  await payload.update({ collection: 'export-requests', id: doc.id, data: { status: 'queued' }, ...asUser(users.editor) })
  assert.equal((await hitP3).body.previousDoc.status, 'cancelled')

  // delete: admins only
  await assert.rejects(payload.delete({ collection: 'export-requests', id: doc.id, ...asUser(users.editor) }))
  await payload.delete({ collection: 'export-requests', id: doc.id, ...asUser(users.admin) })
})

test('a re-run is authorised as the person making it: someone who lost access to the project is refused', async () => {
  const hitP = nextHit()
  const doc = await payload.create({ collection: 'export-requests', data: { type: 'project-zip', project: project.id }, ...asUser(users.editor) })
  await hitP
  await asService(doc.id, { status: 'failed', error: 'boom' })
  // the editor is removed from the project
  await payload.update({ collection: 'projects', id: project.id, data: { editors: [] } })
  try {
    const n0 = received.length
    await assert.rejects(
      payload.update({ collection: 'export-requests', id: doc.id, data: { status: 'queued' }, ...asUser(users.editor) }),
      (err) => {
        assert.match(err.message, /invalid: project/)
        assert.match(JSON.stringify(err.data), /cannot re-run this export: project \d+ does not exist or you are no longer allowed to read it/)
        return true
      },
    )
    await sleep(200)
    assert.equal(received.length, n0, 'nothing is delivered')
    const after = await payload.findByID({ collection: 'export-requests', id: doc.id, depth: 0 })
    assert.equal(after.status, 'failed')
    // an admin who can read the project may re-run it, as themselves
    const hitP2 = nextHit()
    await payload.update({ collection: 'export-requests', id: doc.id, data: { status: 'queued' }, ...asUser(users.admin) })
    assert.equal((await hitP2).body.user.email, 'admin@example.com')
  } finally {
    await payload.update({ collection: 'projects', id: project.id, data: { editors: [users.editor.id] } })
  }
})

test('a delivery that fails is retried by the Jobs Queue and reaches the service once it answers', async () => {
  await settle()
  respondWith = 503
  let doc
  try {
    const hitP = nextHit()
    doc = await payload.create({ collection: 'export-requests', data: { type: 'project-pdf', project: project.id }, ...asUser(users.editor) })
    const first = await hitP
    await sleep(200)
    const [job] = await deliveryJobs(doc.id)
    assert.equal(job.totalTried, 1, 'the inline attempt failed and was recorded on the job')
    assert.ok(new Date(job.waitUntil) > new Date(Date.now() - 5000), 'with a backoff')
    const current = await payload.findByID({ collection: 'export-requests', id: doc.id, depth: 0 })
    assert.equal(current.status, 'queued', 'one failed attempt does not fail the request')
    respondWith = 200
    const hitP2 = nextHit()
    await runQueue()
    const second = await hitP2
    assert.equal(second.raw, first.raw, 'the same change (the service claims it once)')
    assert.notEqual(second.headers['x-export-signature'], undefined)
    assert.equal(verifyWebhook(SECRET, second.raw, second.headers['x-export-signature']), true, 'signed at sending time')
    await waitFor(async () => (await deliveryJobs(doc.id)).length === 0)
  } finally {
    respondWith = 200
  }
})

test('after the last retry the request is failed with a sentence', async () => {
  await settle()
  respondWith = 503
  try {
    const n0 = received.length
    const doc = await payload.create({ collection: 'export-requests', data: { type: 'project-zip', project: project.id }, ...asUser(users.editor) })
    assert.equal(doc.status, 'queued', 'the editor never sees the delivery failure')
    await waitFor(async () => received.length - n0 === 1)
    await runQueue()
    const failed = await waitFor(async () => {
      const d = await payload.findByID({ collection: 'export-requests', id: doc.id, depth: 0 })
      return d.status === 'failed' ? d : null
    })
    assert.match(failed.error, /^export service unreachable: HTTP 503 from http:\/\/127\.0\.0\.1:\d+\/webhooks\/payload; tried 2 times/)
    await sleep(200)
    assert.equal(received.length - n0, 2, 'two attempts; the internal failure update sends no webhook')
  } finally {
    respondWith = 200
  }
})

test('a slow receiver (> timeoutMs) is recorded as a timeout', async () => {
  await settle()
  respondDelay = 1500
  try {
    const t0 = Date.now()
    const doc = await payload.create({ collection: 'export-requests', data: { type: 'video', project: project.id }, ...asUser(users.editor) })
    assert.ok(Date.now() - t0 < 500, 'create is not blocked by the slow receiver')
    await sleep(1200)
    await runQueue()
    const failed = await waitFor(async () => {
      const d = await payload.findByID({ collection: 'export-requests', id: doc.id, depth: 0 })
      return d.status === 'failed' ? d : null
    }, 4000)
    assert.match(failed.error, /^export service unreachable: timeout after 1000 ms/)
  } finally {
    respondDelay = 0
  }
})

test('export results in Media are readable by whoever can read their project, other media keep their rule', async () => {
  const file = (name) => ({ data: Buffer.from('%PDF-1.4\n%%EOF\n'), mimetype: 'application/pdf', name, size: 15 })
  const result = await payload.create({ collection: 'media', data: { exportOf: project.id }, file: file('brief.pdf') })
  const secret = await payload.create({ collection: 'media', data: { exportOf: privateProject.id }, file: file('secret.pdf') })
  const plain = await payload.create({ collection: 'media', data: {}, file: file('plain.pdf') })
  const ids = async (user) =>
    (await payload.find({ collection: 'media', depth: 0, limit: 0, pagination: false, ...asUser(user) })).docs.map((d) => d.id)
  const editor = await ids(users.editor)
  assert.ok(editor.includes(result.id) && editor.includes(plain.id) && !editor.includes(secret.id), String(editor))
  const outsider = await ids(users.outsider)
  assert.ok(outsider.includes(plain.id) && !outsider.includes(result.id) && !outsider.includes(secret.id), String(outsider))
  const admin = await ids(users.admin)
  assert.ok([result.id, secret.id, plain.id].every((id) => admin.includes(id)))
})

test('the requester gets an e-mail when the service finishes the export', async () => {
  const hitP = nextHit()
  const doc = await payload.create({ collection: 'export-requests', data: { type: 'project-pdf', project: project.id }, ...asUser(users.editor) })
  await hitP
  const n0 = emails.length
  await asService(doc.id, { status: 'running', progress: 10 })
  await asService(doc.id, { status: 'succeeded', progress: 100, resultUrl: 'http://cms.example.com/api/media/file/brief.pdf' })
  await asService(doc.id, { stage: 'done' }) // no second e-mail for the same status
  assert.equal(emails.length - n0, 1)
  const mail = emails.at(-1)
  assert.equal(mail.to, 'editor@example.com')
  assert.match(mail.subject, /^PDF · P · .* UTC: Succeeded$/)
  assert.match(mail.text, /is ready: http:\/\/cms\.example\.com\/api\/media\/file\/brief\.pdf/)
})

test('multi-tenant: new requests and export results carry their project’s tenant', async () => {
  const hitP = nextHit()
  const doc = await payload.create({ collection: 'export-requests', data: { type: 'project-pdf', project: project.id }, ...asUser(users.editor) })
  await hitP
  assert.equal(doc.tenant, 'studio-a')
  const file = { data: Buffer.from('%PDF-1.4\n%%EOF\n'), mimetype: 'application/pdf', name: 'tenant.pdf', size: 15 }
  const media = await payload.create({ collection: 'media', data: { exportOf: project.id, exportRequest: doc.id }, file, ...asUser(users.service) })
  assert.equal(media.tenant, 'studio-a')
  const other = await payload.create({ collection: 'media', data: {}, file: { ...file, name: 'other.pdf' } })
  assert.equal(other.tenant ?? null, null, 'other media are left alone')
})

test('translations are merged into the config, the host app’s own strings win', async () => {
  const t = payload.config.i18n.translations
  assert.equal(t.en['plugin-export-service'].exportPdf, 'Export PDF')
  assert.equal(t.de['plugin-export-service'].exportPdf, 'PDF exportieren')
})

test('network failure (connection refused) is recorded too', async () => {
  await settle()
  await new Promise((r) => receiver.close(r))
  receiver.closeAllConnections?.()
  const doc = await payload.create({ collection: 'export-requests', data: { type: 'video', project: project.id }, ...asUser(users.editor) })
  await sleep(300)
  await runQueue()
  const failed = await waitFor(async () => {
    const d = await payload.findByID({ collection: 'export-requests', id: doc.id, depth: 0 })
    return d.status === 'failed' ? d : null
  })
  assert.match(failed.error, /^export service unreachable: ECONNREFUSED/)
})
