// Seeds and serves an app made by make-app.mjs: `next start` (or `next dev` with --dev). Prints
// `payload admin ready on http://HOST:PORT/admin` once it answers. Env as dev/env.mjs reads it
// (HOST, PORT, DATABASE_PATH, MEDIA_DIR, SEED_JSON_PATH, PAYLOAD_SECRET, EXPORT_SERVICE_URL, …).
//
//   node scripts/serve-app.mjs --dir /tmp/app [--dev]
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { dir: { type: 'string' }, dev: { type: 'boolean' } } })
if (!values.dir) {
  console.error('usage: node scripts/serve-app.mjs --dir <folder made by make-app.mjs> [--dev]')
  process.exit(2)
}
const dir = path.resolve(values.dir)
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' }
delete env.NODE_ENV

// Seed in a separate process: `next start` runs with NODE_ENV=production, where Payload does not
// create tables; seeding in development mode pushes the schema first.
if (process.env.SKIP_SEED !== '1') {
  const t0 = Date.now()
  const r = spawnSync(process.execPath, ['dev/seed.mjs'], {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...env, NODE_ENV: 'development', SEED_CONFIG_MODULE: '../payload.config.mjs' },
  })
  if (r.status !== 0) process.exit(r.status || 1)
  console.error(`serve-app: seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
}

const { HOST, PORT, SERVER_URL } = await import(path.join(dir, 'dev', 'env.mjs'))
const nextBin = path.join(dir, 'node_modules', 'next', 'dist', 'bin', 'next')
const t0 = Date.now()
const child = spawn(process.execPath, [nextBin, values.dev ? 'dev' : 'start', '-H', HOST, '-p', String(PORT)], {
  cwd: dir,
  stdio: ['ignore', 'inherit', 'inherit'],
  env: values.dev ? { ...env, NODE_ENV: 'development' } : env,
})
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)))

for (;;) {
  try {
    const res = await fetch(`http://${HOST}:${PORT}/api/users/me`, { signal: AbortSignal.timeout(30000) })
    if (res.status < 500) break
  } catch {
    /* not yet */
  }
  await new Promise((r) => setTimeout(r, 250))
}
console.log(`payload admin ready on ${SERVER_URL}/admin (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
