// Used by `npm run dev`: installs dependencies if missing and (re)builds the plugin when dist/ is stale.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

if (!existsSync(path.join(root, 'node_modules', 'payload'))) {
  console.error('payload-plugin: node_modules missing, running npm ci')
  run('npm', ['ci', '--no-audit', '--no-fund'])
}

const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = path.join(dir, e.name)
    return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }, 0)

// tsconfig.json only type-checks (noEmit); tsconfig.build.json, which extends it, writes dist/.
const configs = ['tsconfig.json', 'tsconfig.build.json'].map((name) => statSync(path.join(root, name)).mtimeMs)
const dist = path.join(root, 'dist', 'index.js')
const stale = !existsSync(dist) || statSync(dist).mtimeMs < Math.max(newest(path.join(root, 'src')), ...configs)
if (stale) {
  console.error('payload-plugin: building dist/')
  run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'])
}
