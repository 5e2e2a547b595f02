// The dev stack's build step (`npm run dev`, `./scripts/run`): on a checkout with no dist/
// it must write one. (`npm test` builds dist/ itself first, so without this test a broken
// dev build only shows on a newcomer's fresh clone.)
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

test('ensure-build writes dist/ on a checkout that has none', () => {
  const copy = mkdtempSync(path.join(os.tmpdir(), 'export-plugin-dev-'))
  try {
    for (const name of ['src', 'dev', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) {
      cpSync(path.join(root, name), path.join(copy, name), { recursive: true })
    }
    symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'))
    const run = spawnSync(process.execPath, [path.join(copy, 'dev', 'ensure-build.mjs')], { encoding: 'utf8' })
    assert.equal(run.status, 0, run.stderr)
    assert.ok(existsSync(path.join(copy, 'dist', 'index.js')), 'no dist/index.js after the build')
    assert.ok(existsSync(path.join(copy, 'dist', 'index.d.ts')), 'no dist/index.d.ts after the build')
  } finally {
    rmSync(copy, { recursive: true, force: true })
  }
})
