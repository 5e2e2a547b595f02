// Resolves the dev server's environment (shared by server.mjs, seed.mjs and payload.config.mjs).
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const DEV_DIR = path.dirname(fileURLToPath(import.meta.url))

// Relative paths given in env vars are resolved against the directory npm was started from
// (INIT_CWD), so `DATABASE_PATH=tmp/x.db npm --prefix payload-plugin run dev` does what you expect.
const base = process.env.INIT_CWD || process.cwd()
const resolvePath = (p, dflt) => (p ? path.resolve(base, p) : dflt)

export const HOST = process.env.HOST || '127.0.0.1'
export const PORT = Number(process.env.PORT || 3000)
export const SERVER_URL = process.env.PAYLOAD_PUBLIC_URL || `http://${HOST}:${PORT}`
export const PAYLOAD_SECRET = process.env.PAYLOAD_SECRET || 'dev-payload-secret-change-me'
export const DATABASE_PATH = resolvePath(process.env.DATABASE_PATH, path.join(DEV_DIR, '.data', 'payload.db'))
export const MEDIA_DIR = resolvePath(process.env.MEDIA_DIR, path.join(DEV_DIR, '.data', 'media'))
export const SEED_JSON_PATH = resolvePath(process.env.SEED_JSON_PATH, path.join(DEV_DIR, '.data', 'seed.json'))
export const EXPORT_SERVICE_URL = process.env.EXPORT_SERVICE_URL || 'http://127.0.0.1:8000'
export const EXPORT_WEBHOOK_SECRET = process.env.EXPORT_WEBHOOK_SECRET || 'dev-webhook-secret'

export function ensureDirs() {
  mkdirSync(path.dirname(DATABASE_PATH), { recursive: true })
  mkdirSync(MEDIA_DIR, { recursive: true })
  mkdirSync(path.dirname(SEED_JSON_PATH), { recursive: true })
}
