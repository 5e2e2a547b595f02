// `GET /api/<export-requests>/:id/events-url`: a signed WebSocket URL for the live progress of one
// request, obtained from the service for an editor who may read that request.
import type { Endpoint } from 'payload'

import type { AnyUser, Resolved } from './options.js'
import { signWebhook, SIGNATURE_HEADER } from './webhook.js'

const jsonError = (status: number, message: string) =>
  Response.json({ errors: [{ message }] }, { status, headers: { 'Cache-Control': 'no-store' } })
const toWs = (base: string) => base.replace(/^http(s?):/i, 'ws$1:').replace(/\/+$/, '')

export function eventsUrlEndpoint(o: Resolved): Endpoint {
  return {
    path: '/:id/events-url',
    method: 'get',
    handler: async (req) => {
      if (!req.user) return jsonError(403, 'You are not allowed to perform this action.')
      const id = (req.routeParams as Record<string, unknown> | undefined)?.id as string | undefined
      if (!id) return jsonError(404, 'Not Found')
      const doc: any = await req.payload.findByID({
        collection: o.slugs.exportRequests as any,
        id,
        depth: 0,
        overrideAccess: false,
        user: req.user,
        req,
        disableErrors: true,
      })
      if (!doc) return jsonError(404, 'Not Found')
      if (!doc.jobId) return jsonError(409, 'The export service has not started a job for this request yet; ask again in a moment.')
      if (!o.serviceUrl || !o.secret) return jsonError(503, 'The export service is not configured: set serviceUrl and secret in the plugin options.')
      const user = req.user as AnyUser
      const body = JSON.stringify({
        jobId: String(doc.jobId),
        exportRequestId: doc.id,
        user: { id: user?.id ?? null, collection: user?.collection ?? null, email: user?.email ?? null },
      })
      const url = `${o.serviceUrl.replace(/\/+$/, '')}/webhooks/payload/ticket`
      let res: globalThis.Response
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: signWebhook(o.secret, body) },
          body,
          signal: AbortSignal.timeout(o.timeoutMs),
        })
      } catch (err: any) {
        return jsonError(502, `The export service is unreachable (${err?.cause?.code ?? err?.message ?? String(err)}); progress is polled instead.`)
      }
      const answer: any = await res.json().catch(() => null)
      if (!res.ok || !answer || typeof answer.eventsUrl !== 'string') {
        const why = answer?.error?.message ? `: ${answer.error.message}` : ''
        const status = res.status === 404 && answer?.error?.code === 'job_not_found' ? 404 : 502
        return jsonError(status, `The export service refused a ticket (HTTP ${res.status})${why}`)
      }
      const publicBase = o.admin?.publicServiceUrl
      const eventsUrl = publicBase && typeof answer.eventsPath === 'string' ? `${toWs(publicBase)}${answer.eventsPath}` : answer.eventsUrl
      return Response.json(
        { jobId: String(doc.jobId), eventsUrl, expiresAt: answer.expiresAt ?? null },
        { headers: { 'Cache-Control': 'no-store' } },
      )
    },
  }
}
