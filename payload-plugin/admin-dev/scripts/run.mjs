// `npm run dev|build|start` of the admin dev app. One command from a fresh checkout:
//   - installs this app's packages (npm ci) and the plugin's (via ../dev/ensure-build.mjs) if missing,
//   - builds the plugin's dist/ if stale,
//   - seeds the database with ../dev/seed.mjs (same schema, users and sample project as the REST-only
//     dev server; writes seed.json) — in a separate process, because `next start` runs with
//     NODE_ENV=production, where Payload does not create tables,
//   - build/start: `next build` only when its inputs changed (a content stamp in .next/), then `next start`;
//     dev: `next dev` (compiles on demand: slower first page, more memory).
// Prints `payload admin ready on http://HOST:PORT/admin` once the server answers. Env: see ../dev/env.mjs
// (HOST, PORT, DATABASE_PATH, MEDIA_DIR, SEED_JSON_PATH, PAYLOAD_SECRET, EXPORT_SERVICE_URL, ...).
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const PLUGIN = path.resolve(APP, '..')
const mode = process.argv[2] ?? 'start'
if (!['dev', 'build', 'start'].includes(mode)) {
  console.error(`usage: node scripts/run.mjs dev|build|start (got ${mode})`)
  process.exit(2)
}
const log = (msg) => console.error(`admin-dev: ${msg}`)
const run = (cmd, args, opts = {}) => {
  const t0 = Date.now()
  const r = spawnSync(cmd, args, { cwd: APP, stdio: ['ignore', 'inherit', 'inherit'], ...opts })
  if (r.status !== 0) {
    log(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`)
    process.exit(r.status ?? 1)
  }
  return Date.now() - t0
}

// 1. packages
if (!existsSync(path.join(APP, 'node_modules', 'next'))) {
  log('node_modules missing, running npm ci')
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'])
}
// 2. the plugin's dist/ (and its own node_modules, which the seeding process uses)
run(process.execPath, [path.join(PLUGIN, 'dev', 'ensure-build.mjs')])

const nextBin = path.join(APP, 'node_modules', 'next', 'dist', 'bin', 'next')

// 3. next build, when its inputs changed
function inputsStamp() {
  const h = createHash('sha256')
  const add = (p) => {
    const st = statSync(p, { throwIfNoEntry: false })
    if (!st) return
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) if (e !== 'node_modules' && e !== '.next' && e !== '.data') add(path.join(p, e))
    } else {
      h.update(path.relative(PLUGIN, p)).update('\0').update(readFileSync(p)).update('\0')
    }
  }
  for (const p of ['app', 'next.config.mjs', 'payload.config.ts', 'tsconfig.json', 'package-lock.json']) add(path.join(APP, p))
  for (const p of ['dist', 'dev/payload.config.mjs', 'dev/env.mjs']) add(path.join(PLUGIN, p))
  return h.digest('hex')
}
const stampFile = path.join(APP, '.next', 'export-service-inputs.sha256')
if (mode === 'build' || mode === 'start') {
  const stamp = inputsStamp()
  const built = existsSync(path.join(APP, '.next', 'BUILD_ID')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp
  if (built && process.env.ADMIN_DEV_FORCE_BUILD !== '1') {
    log('next build is up to date')
  } else {
    log('running next build')
    // NODE_ENV must be production for `next build`; the config module creates the data folders it names.
    const ms = run(process.execPath, [nextBin, 'build'], { env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' } })
    mkdirSync(path.dirname(stampFile), { recursive: true })
    writeFileSync(stampFile, stamp)
    log(`next build took ${(ms / 1000).toFixed(1)} s`)
  }
  if (mode === 'build') process.exit(0)
}

// 4. seed (creates the tables on an empty database, seeds it, writes seed.json)
if (process.env.SKIP_SEED !== '1') {
  const ms = run(process.execPath, [path.join(PLUGIN, 'dev', 'seed.mjs')], {
    cwd: PLUGIN,
    env: { ...process.env, NODE_ENV: 'development' },
  })
  log(`seeded in ${(ms / 1000).toFixed(1)} s`)
}

// 5. serve
const { HOST, PORT, SERVER_URL } = await import(path.join(PLUGIN, 'dev', 'env.mjs'))
const args = mode === 'dev' ? ['dev', '-H', HOST, '-p', String(PORT)] : ['start', '-H', HOST, '-p', String(PORT)]
const t0 = Date.now()
const child = spawn(process.execPath, [nextBin, ...args], {
  cwd: APP,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...(mode === 'dev' ? { NODE_ENV: 'development' } : {}) },
})
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)))

// announce readiness once the login page's API answers
const origin = `http://${HOST}:${PORT}`
for (;;) {
  try {
    const res = await fetch(`${origin}/api/users/me`, { signal: AbortSignal.timeout(30000) })
    if (res.status < 500) break
  } catch {
    /* not yet */
  }
  await new Promise((r) => setTimeout(r, 250))
}
console.log(`payload admin ready on ${SERVER_URL}/admin (${mode}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`)
