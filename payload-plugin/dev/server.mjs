// Minimal REST-only Payload server: node:http around payload's handleEndpoints (no Next.js).
import http from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

import { getPayload, handleEndpoints } from 'payload'

import { HOST, PORT, SERVER_URL } from './env.mjs'
import config from './payload.config.mjs'
import { ensureSeed } from './seed.mjs'

const t0 = Date.now()
const payload = await getPayload({ config, cron: true }) // cron: the Jobs Queue retries deliveries
const resolvedConfig = await config
if (process.env.SKIP_SEED !== '1') await ensureSeed(payload)

const apiRoute = resolvedConfig.routes?.api ?? '/api'

function toWebRequest(req) {
  const url = new URL(req.url ?? '/', SERVER_URL)
  const headers = new Headers()
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue
    if (Array.isArray(v)) for (const x of v) headers.append(k, x)
    else headers.set(k, v)
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  return new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? Readable.toWeb(req) : undefined,
    duplex: 'half',
  })
}

async function sendWebResponse(res, response) {
  const headers = {}
  response.headers.forEach((v, k) => {
    if (k !== 'set-cookie') headers[k] = v
  })
  const cookies = response.headers.getSetCookie?.() ?? []
  if (cookies.length) headers['set-cookie'] = cookies
  res.writeHead(response.status, response.statusText, headers)
  if (!response.body) return void res.end()
  await pipeline(Readable.fromWeb(response.body), res)
}

const server = http.createServer(async (req, res) => {
  try {
    const path = (req.url ?? '/').split('?')[0]
    if (path === '/' || path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' })
      return void res.end(JSON.stringify({ ok: true, api: `${SERVER_URL}${apiRoute}` }))
    }
    if (path !== apiRoute && !path.startsWith(`${apiRoute}/`)) {
      res.writeHead(404, { 'content-type': 'application/json' })
      return void res.end(JSON.stringify({ errors: [{ message: 'Not Found' }] }))
    }
    const response = await handleEndpoints({ config, request: toWebRequest(req) })
    await sendWebResponse(res, response)
  } catch (err) {
    payload.logger.error({ err, msg: `request failed: ${req.method} ${req.url}` })
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ errors: [{ message: 'Internal Server Error' }] }))
    } else res.destroy()
  }
})
server.keepAliveTimeout = 5000

server.listen(PORT, HOST, () => {
  console.log(`payload ready on http://${HOST}:${PORT}`)
  console.error(`(started in ${Date.now() - t0} ms)`)
})

let stopping = false
async function shutdown(signal) {
  if (stopping) return
  stopping = true
  console.error(`${signal}: shutting down`)
  const force = setTimeout(() => process.exit(0), 3000)
  force.unref()
  server.close()
  server.closeIdleConnections?.()
  try {
    await payload.destroy?.()
  } catch {
    /* ignore */
  }
  process.exit(0)
}
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGINT', () => void shutdown('SIGINT'))
