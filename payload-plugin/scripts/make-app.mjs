// Makes a fresh Payload 3 + Next.js app the way a Payload team would install this plugin:
//   1. `npm pack` the plugin (prepack builds dist/),
//   2. copy the committed template (../app-template) and the dev schema/seed (../dev) into --dir,
//   3. `npm install <tarball>` there (no alias, no path tricks: the app resolves the plugin from
//      node_modules),
//   4. `payload generate:importmap`, checking the plugin's components are in the import map,
//   5. `next build` (unless --no-build).
// Prints one JSON line with the timings (s) and writes it to <dir>/make-app.json.
//
//   node scripts/make-app.mjs --dir /tmp/app [--no-build] [--tarball plugin.tgz]
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

export const PLUGIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const DEV_FILES = ['config-base.mjs', 'env.mjs', 'seed.mjs', 'png.mjs']
const IMPORT_MAP = path.join('app', '(payload)', 'admin', 'importMap.js')

const log = (msg) => console.error(`make-app: ${msg}`)

function run(cmd, args, opts) {
  const t0 = Date.now()
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts })
  if (r.status !== 0) {
    log(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}) in ${opts.cwd}`)
    process.exit(r.status || 1)
  }
  return (Date.now() - t0) / 1000
}

/** `npm pack` of the plugin; returns the tarball's path. */
export function pack(dest) {
  mkdirSync(dest, { recursive: true })
  const r = spawnSync('npm', ['pack', '--json', '--pack-destination', dest], {
    cwd: PLUGIN,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`npm pack failed (exit ${r.status})`)
  const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')))
  return path.join(dest, info.filename)
}

function main() {
  const { values } = parseArgs({
    options: { dir: { type: 'string' }, 'no-build': { type: 'boolean' }, tarball: { type: 'string' } },
  })
  if (!values.dir) {
    console.error('usage: node scripts/make-app.mjs --dir <folder> [--no-build] [--tarball <plugin.tgz>]')
    process.exit(2)
  }
  const dir = path.resolve(values.dir)
  const timings = {}
  let tarball = values.tarball && path.resolve(values.tarball)
  if (!tarball) {
    const t0 = Date.now()
    tarball = pack(mkdtempSync(path.join(os.tmpdir(), 'export-plugin-pack-')))
    timings.pack_s = (Date.now() - t0) / 1000
  }
  log(`installing ${path.basename(tarball)} into ${dir}`)
  mkdirSync(path.join(dir, 'dev'), { recursive: true })
  cpSync(path.join(PLUGIN, 'app-template'), dir, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|\.next)([\\/]|$)/.test(src),
  })
  for (const f of DEV_FILES) cpSync(path.join(PLUGIN, 'dev', f), path.join(dir, 'dev', f))

  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' }
  delete env.NODE_ENV
  timings.install_s = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: dir, env })
  const installed = JSON.parse(readFileSync(path.join(dir, 'node_modules', 'payload-plugin-export-service', 'package.json'), 'utf8'))
  if (existsSync(path.join(dir, 'node_modules', 'payload-plugin-export-service', 'node_modules', 'payload'))) {
    throw new Error('the plugin brought its own copy of payload: check its peerDependencies')
  }

  // generate:importmap loads the config: give it throwaway data folders (the config creates them)
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'export-plugin-importmap-'))
  const cfgEnv = { ...env, DATABASE_PATH: path.join(scratch, 'db', 'payload.db'), MEDIA_DIR: path.join(scratch, 'media'), SEED_JSON_PATH: path.join(scratch, 'seed.json') }
  timings.importmap_s = run(process.execPath, ['node_modules/payload/bin.js', 'generate:importmap'], { cwd: dir, env: cfgEnv })
  const importMap = readFileSync(path.join(dir, IMPORT_MAP), 'utf8')
  for (const name of ['ExportActions', 'ExportRequestStatus', 'ExportProgressCell']) {
    if (!importMap.includes(`"payload-plugin-export-service/client#${name}"`)) {
      throw new Error(`${IMPORT_MAP} has no entry for payload-plugin-export-service/client#${name}:\n${importMap}`)
    }
  }
  if (!values['no-build']) {
    timings.next_build_s = run(process.execPath, ['node_modules/next/dist/bin/next', 'build'], {
      cwd: dir,
      env: { ...cfgEnv, NODE_ENV: 'production' },
    })
  }
  const result = { dir, tarball, plugin: installed.version, ...timings }
  writeFileSync(path.join(dir, 'make-app.json'), JSON.stringify(result, null, 2) + '\n')
  console.log(JSON.stringify(result))
}

if (import.meta.url === `file://${process.argv[1]}`) main()
