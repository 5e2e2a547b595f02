// `npm --prefix payload-plugin/admin-dev start|dev|build` (what `./scripts/run --admin` runs): the
// app make-app.mjs makes, kept in the repository's .data/admin-app (ADMIN_APP_DIR to change it;
// outside the plugin folder, so Next.js does not take the plugin's lockfile for the app's) and made
// again only when its inputs changed (plugin sources, template, dev schema), then seeded and served.
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'

import { DEV_FILES, PLUGIN } from './make-app.mjs'

const mode = process.argv[2] ?? 'start'
if (!['start', 'dev', 'build'].includes(mode)) {
  console.error(`usage: node scripts/admin-dev.mjs start|dev|build (got ${mode})`)
  process.exit(2)
}
const APP = path.resolve(process.env.ADMIN_APP_DIR || path.join(PLUGIN, '..', '.data', 'admin-app'))
const STAMP = path.join(APP, '.inputs.sha256')

function inputsStamp() {
  const h = createHash('sha256')
  const add = (p) => {
    const st = statSync(p, { throwIfNoEntry: false })
    if (!st) return
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) if (!['node_modules', '.next', '.data'].includes(e)) add(path.join(p, e))
    } else h.update(path.relative(PLUGIN, p)).update('\0').update(readFileSync(p)).update('\0')
  }
  for (const p of ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json', 'app-template', ...DEV_FILES.map((f) => `dev/${f}`)]) {
    add(path.join(PLUGIN, p))
  }
  return h.update(mode === 'dev' ? 'dev' : 'build').digest('hex')
}

const stamp = inputsStamp()
if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === stamp) {
  console.error('admin-dev: the app is up to date')
} else {
  console.error('admin-dev: making the app (pack, install, import map, next build): a few minutes the first time')
  rmSync(APP, { recursive: true, force: true })
  const args = [path.join(PLUGIN, 'scripts', 'make-app.mjs'), '--dir', APP, ...(mode === 'dev' ? ['--no-build'] : [])]
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  if (r.status !== 0) process.exit(r.status || 1)
  writeFileSync(STAMP, stamp)
}
if (mode === 'build') process.exit(0)

const child = spawn(process.execPath, [path.join(PLUGIN, 'scripts', 'serve-app.mjs'), '--dir', APP, ...(mode === 'dev' ? ['--dev'] : [])], {
  stdio: ['ignore', 'inherit', 'inherit'],
})
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig))
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)))
