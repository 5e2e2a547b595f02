// Seeds the dev database through the Local API and writes seed.json for the Python e2e tests.
// `node dev/seed.mjs` seeds (if the database is empty) and (re)writes seed.json; the server
// calls `ensureSeed(payload)` on start-up.
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

import { gradientPng } from './png.mjs'
import { SEED_JSON_PATH, SERVER_URL } from './env.mjs'

export const PASSWORD = process.env.SEED_PASSWORD || 'password123'

export const SEED_USERS = {
  admin: {
    email: 'admin@example.com',
    roles: ['admin'],
    apiKey: process.env.SEED_ADMIN_API_KEY || 'dev-admin-api-key-00000000000000000001',
  },
  editor: {
    email: 'editor@example.com',
    roles: ['editor'],
    apiKey: process.env.SEED_EDITOR_API_KEY || 'dev-editor-api-key-0000000000000000002',
  },
  outsider: {
    email: 'outsider@example.com',
    roles: ['editor'],
    apiKey: process.env.SEED_OUTSIDER_API_KEY || 'dev-outsider-api-key-000000000000000003',
  },
  service: {
    email: 'export-service@example.com',
    roles: ['export-service'],
    apiKey: process.env.SEED_SERVICE_API_KEY || 'dev-service-api-key-00000000000000000004',
  },
}

// In the second auth collection (`operators`), for PAYLOAD_AUTH_COLLECTION=operators.
export const SEED_OPERATORS = {
  admin: { email: 'operator-admin@example.com', roles: ['admin'], apiKey: 'dev-operator-admin-api-key-0000000000005' },
  service: { email: 'operator-service@example.com', roles: ['export-service'], apiKey: 'dev-operator-service-api-key-00000000006' },
}

export const SAMPLE_TITLE = 'The Lighthouse Keeper'
export const PRIVATE_TITLE = 'Untitled Admin Project (private)'

// ---- Lexical helpers -----------------------------------------------------------------------
const text = (t, format = 0) => ({ type: 'text', text: t, format, detail: 0, mode: 'normal', style: '', version: 1 })
const BOLD = 1
const ITALIC = 2
const block = (type, children, extra = {}) => ({ type, children, direction: 'ltr', format: '', indent: 0, version: 1, ...extra })
const p = (...children) => block('paragraph', children, { textFormat: 0, textStyle: '' })
const h = (tag, t) => block('heading', [text(t)], { tag })
const list = (items, listType = 'bullet') =>
  block(
    'list',
    items.map((it, i) => block('listitem', [text(it)], { value: i + 1 })),
    { listType, start: 1, tag: listType === 'number' ? 'ol' : 'ul' },
  )
const link = (url, t) => block('link', [text(t)], { version: 3, fields: { linkType: 'custom', newTab: false, url } })
const lexical = (...children) => ({ root: block('root', children) })

export const SUMMARY = lexical(
  h('h2', 'Premise'),
  p(
    text('On a storm-battered island, '),
    text('Mara', BOLD),
    text(', the last keeper of an automated lighthouse, discovers that the light has been '),
    text('signalling someone', ITALIC),
    text(' for forty years.'),
  ),
  p(text('Themes we want the export to carry:')),
  list(['Isolation and duty', 'Machines that remember', 'The sea as a clock']),
  p(text('Reference material lives on the '), link('https://example.com/lighthouse-bible', 'series bible'), text('.')),
)

const scriptBody = (title, lines) => lexical(h('h1', title), ...lines.map((l) => p(text(l))))

// German content of the sample project (the config's second locale), and the draft the
// e2e tests export with `draft: true` (saved after publishing, so a plain read is unchanged).
export const GERMAN = {
  title: 'Der Leuchtturmwärter',
  logline: 'Die letzte Wärterin eines automatischen Leuchtturms erfährt, mit wem das Licht spricht.',
  summary: lexical(
    h('h2', 'Prämisse'),
    p(text('Auf einer sturmgepeitschten Insel entdeckt '), text('Mara', BOLD), text(', dass das Licht seit vierzig Jahren jemandem Zeichen gibt.')),
  ),
  scripts: [
    ['Pilot — Prolog', ['INNEN. LAMPENRAUM — NACHT', 'Die Linse dreht sich. MARA (60) blickt auf das dunkle Wasser.', 'MARA: Mit wem sprichst du?']],
    ['Die Geschichte der Wärterin', ['Mara kam auf die Insel, als das Licht noch Hände brauchte.', 'Jetzt braucht es nur noch ihr Schweigen.']],
    ['Serienkonzept', ['Die erste Staffel folgt dem Signal.', 'Jede Folge entschlüsselt eine Nacht der letzten vierzig Jahre.']],
  ],
  roles: ['Autorin', 'Regie'],
}
export const DRAFT_LOGLINE = 'DRAFT: the keeper answers the light, and the island answers back.'
export const DRAFT_SCRIPT_LINE = 'MARA: I hear you. I have always heard you.'

// ---- seeding -------------------------------------------------------------------------------
const png = (name, from, to, w = 96, h = 64) => ({
  data: gradientPng(w, h, from, to),
  mimetype: 'image/png',
  name,
  size: 0,
})

async function findOne(payload, collection, where) {
  const r = await payload.find({ collection, where, limit: 1, depth: 0, overrideAccess: true })
  return r.docs[0] ?? null
}

export async function seed(payload) {
  const users = {}
  for (const [key, u] of Object.entries(SEED_USERS)) {
    users[key] = await payload.create({
      collection: 'users',
      data: { email: u.email, password: PASSWORD, roles: u.roles, enableAPIKey: true, apiKey: u.apiKey },
      overrideAccess: true,
    })
  }
  for (const u of Object.values(SEED_OPERATORS)) {
    await payload.create({
      collection: 'operators',
      data: { email: u.email, password: PASSWORD, roles: u.roles, enableAPIKey: true, apiKey: u.apiKey },
      overrideAccess: true,
    })
  }

  const mediaDefs = [
    ['lighthouse-cover.png', 'Cover: the lighthouse at dusk', [20, 40, 90], [240, 160, 60]],
    ['storm-still.png', 'Still: the storm rolls in', [30, 30, 40], [120, 140, 160]],
    ['keeper-portrait.png', 'Still: Mara in the lamp room', [80, 20, 20], [250, 220, 180]],
  ]
  const media = []
  for (const [name, alt, from, to] of mediaDefs) {
    const file = png(name, from, to)
    file.size = file.data.length
    media.push(await payload.create({ collection: 'media', data: { alt }, file, overrideAccess: true }))
  }

  const sample = await payload.create({
    collection: 'projects',
    overrideAccess: true,
    data: {
      title: SAMPLE_TITLE,
      logline: 'The last keeper of an automated lighthouse learns who the light has been talking to.',
      summary: SUMMARY,
      coverImage: media[0].id,
      media: [media[1].id, media[2].id],
      // The service's timeline schema (docs/video-services.md): image clips show the still
      // for out - in seconds.
      timeline: {
        clips: [
          { mediaId: media[0].id, in: 0, out: 2 },
          { mediaId: media[1].id, in: 0, out: 2, transition: 'fade' },
          { mediaId: media[2].id, in: 0, out: 2 },
        ],
        titles: [{ text: 'The Lighthouse Keeper', duration: 1, at: 0 }],
      },
      editors: [users.editor.id],
      team: [
        { name: 'Ines Alvarez', role: 'Writer' },
        { name: 'Jonas Berg', role: 'Director' },
      ],
      _status: 'published',
    },
  })
  await payload.update({
    collection: 'projects',
    id: sample.id,
    locale: 'de',
    overrideAccess: true,
    data: {
      title: GERMAN.title,
      logline: GERMAN.logline,
      summary: GERMAN.summary,
      team: sample.team.map((row, i) => ({ id: row.id, name: row.name, role: GERMAN.roles[i] })),
      _status: 'published',
    },
  })

  const scripts = []
  const scriptDefs = [
    ['Pilot — Teaser', 'script', ['INT. LAMP ROOM — NIGHT', 'The lens turns. MARA (60s) watches the dark water.', 'MARA: Who are you talking to?', 'The light pulses twice.', 'MARA', '(quietly)', 'Not tonight.', 'CUT TO:', 'EXT. CLIFF PATH — DAWN', 'Mara walks down to the jetty.']],
    ['The Keeper’s Story', 'story', ['Mara came to the island when the light still needed hands.', 'Now it needs only her silence.']],
    ['Series Treatment', 'treatment', ['Season one follows the signal.', 'Each episode decodes one night of the last forty years.']],
  ]
  let order = 1
  for (const [title, kind, lines] of scriptDefs) {
    const created = await payload.create({
      collection: 'scripts',
      overrideAccess: true,
      data: { title, kind, order: order++, project: sample.id, body: scriptBody(title, lines), _status: 'published' },
    })
    const [deTitle, deLines] = GERMAN.scripts[scripts.length]
    await payload.update({
      collection: 'scripts',
      id: created.id,
      locale: 'de',
      overrideAccess: true,
      data: { title: deTitle, body: scriptBody(deTitle, deLines), _status: 'published' },
    })
    scripts.push(created)
  }
  // Drafts saved after publishing: a plain read still gives the published text.
  await payload.update({
    collection: 'projects',
    id: sample.id,
    draft: true,
    overrideAccess: true,
    data: { logline: DRAFT_LOGLINE, _status: 'draft' },
  })
  const [pilotTitle, , pilotLines] = scriptDefs[0]
  await payload.update({
    collection: 'scripts',
    id: scripts[0].id,
    draft: true,
    overrideAccess: true,
    data: { body: scriptBody(pilotTitle, [...pilotLines, DRAFT_SCRIPT_LINE]), _status: 'draft' },
  })

  const priv = await payload.create({
    collection: 'projects',
    overrideAccess: true,
    data: {
      title: PRIVATE_TITLE,
      logline: 'Only admins can read this one.',
      summary: lexical(p(text('Confidential.'))),
      editors: [],
      _status: 'published',
    },
  })
  return { users, sample, priv, media, scripts }
}

/** Looks the seeded records up (works for a fresh seed and for a database seeded earlier). */
export async function collectSeedInfo(payload) {
  const users = {}
  for (const [key, u] of Object.entries(SEED_USERS)) {
    const doc = await findOne(payload, 'users', { email: { equals: u.email } })
    users[key] = doc ? { id: doc.id, email: doc.email, apiKey: u.apiKey, password: PASSWORD, roles: doc.roles } : null
  }
  const operators = {}
  for (const [key, u] of Object.entries(SEED_OPERATORS)) {
    const doc = await findOne(payload, 'operators', { email: { equals: u.email } })
    operators[key] = doc ? { id: doc.id, email: doc.email, apiKey: u.apiKey, password: PASSWORD } : null
  }
  const sample = await findOne(payload, 'projects', { title: { equals: SAMPLE_TITLE } })
  const priv = await findOne(payload, 'projects', { title: { equals: PRIVATE_TITLE } })
  const ids = (v) => (Array.isArray(v) ? v.map((x) => (typeof x === 'object' && x ? x.id : x)) : [])
  const one = (v) => (typeof v === 'object' && v ? v.id : v)
  const media = sample ? [one(sample.coverImage), ...ids(sample.media)].filter((x) => x != null) : []
  const scripts = sample
    ? (await payload.find({ collection: 'scripts', where: { project: { equals: sample.id } }, depth: 0, sort: 'order', overrideAccess: true, pagination: false })).docs.map((d) => d.id)
    : []
  return {
    payloadUrl: SERVER_URL,
    users,
    operators,
    projects: { sample: sample?.id ?? null, private: priv?.id ?? null },
    media,
    scripts,
  }
}

export async function ensureSeed(payload, { log = console.error } = {}) {
  const { totalDocs } = await payload.count({ collection: 'users', overrideAccess: true })
  let seeded = false
  if (totalDocs === 0) {
    const t0 = Date.now()
    await seed(payload)
    seeded = true
    log(`seeded dev database in ${Date.now() - t0} ms`)
  }
  const info = await collectSeedInfo(payload)
  writeFileSync(SEED_JSON_PATH, JSON.stringify(info, null, 2) + '\n')
  return { seeded, info }
}

// CLI: node dev/seed.mjs
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { getPayload } = await import('payload')
  const { default: config } = await import(process.env.SEED_CONFIG_MODULE || './payload.config.mjs')
  const payload = await getPayload({ config })
  const { seeded } = await ensureSeed(payload)
  console.error(seeded ? `seeded; wrote ${SEED_JSON_PATH}` : `database already seeded; wrote ${SEED_JSON_PATH}`)
  await payload.destroy?.()
  process.exit(0)
}
