// Delivery of export-request changes to the service, through Payload's Jobs Queue.
//
// afterChange queues one job per change (in the change's own transaction) and, as the fast path,
// runs it in this process once the change is committed. A failed attempt is retried by whatever
// runs the host's Jobs Queue (autoRun, `payload jobs:run`, the `/api/payload-jobs/run` endpoint),
// with exponential backoff; the service queues each change once however often it arrives. Only
// after the last retry is the request marked failed, with a sentence.
import type { Payload, PayloadRequest, TaskConfig } from 'payload'

import type { Resolved } from './options.js'
import { signWebhook, SIGNATURE_HEADER } from './webhook.js'

export const DELIVERY_TASK = 'exportServiceDelivery'

export type DeliveryInput = { exportRequest: string; body: Record<string, unknown> }

/** Why one attempt failed, or null when the service took the delivery (2xx). */
export async function send(o: Resolved, body: string): Promise<string | null> {
  const url = `${String(o.serviceUrl ?? '').replace(/\/+$/, '')}/webhooks/payload`
  try {
    if (!o.serviceUrl) return 'serviceUrl is not configured'
    if (!o.secret) return 'the webhook secret is not configured'
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: signWebhook(o.secret, body) },
      body,
      signal: AbortSignal.timeout(o.timeoutMs),
    })
    await res.arrayBuffer().catch(() => undefined) // drain, so the socket can be reused
    return res.ok ? null : `HTTP ${res.status} from ${url}`
  } catch (err: any) {
    if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `timeout after ${o.timeoutMs} ms (${url})`
    return `${err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(err)} (${url})`
  }
}

/** Total wait of the retries, for the failure sentence ("over 8.5 min"). */
export function retryWindowS(o: Resolved): number {
  let ms = 0
  for (let i = 0; i < o.delivery.retries; i++) ms += 2 ** i * o.delivery.backoffMs
  return Math.round(ms / 1000)
}

async function currentStatus(o: Resolved, payload: Payload, id: string): Promise<string | null> {
  const doc: any = await payload.findByID({
    collection: o.slugs.exportRequests as any,
    id,
    depth: 0,
    overrideAccess: true,
    disableErrors: true,
    select: { status: true } as any,
  })
  return doc ? String(doc.status) : null
}

/** Marks a request still waiting for the service as failed, saying why. */
async function recordFailure(o: Resolved, payload: Payload, id: string, sentence: string): Promise<void> {
  if ((await currentStatus(o, payload, id)) !== 'queued') return
  await payload.update({
    collection: o.slugs.exportRequests as any,
    id,
    data: { status: 'failed', error: sentence } as any,
    context: { exportServiceInternal: true },
    overrideAccess: true,
    depth: 0,
  })
}

export function deliveryTask(o: Resolved): TaskConfig<any> {
  return {
    slug: DELIVERY_TASK,
    label: 'Export service: deliver an export-request change',
    retries: { attempts: o.delivery.retries, backoff: { type: 'exponential', delay: o.delivery.backoffMs } },
    inputSchema: [
      { name: 'exportRequest', type: 'text', required: true },
      { name: 'body', type: 'json', required: true },
    ],
    outputSchema: [{ name: 'outcome', type: 'text' }],
    handler: async ({ input, job, req }) => {
      const { exportRequest: id, body } = input as DeliveryInput
      const attempt = (job.totalTried ?? 0) + 1
      // The job was queued with a grace period for the inline attempt; once an attempt runs, only
      // the backoff decides when the next one may (Payload keeps the later of the two otherwise).
      if (job.waitUntil) delete (job as { waitUntil?: unknown }).waitUntil
      const log = (msg: string) => o.debug && req.payload.logger.info(`[export-service] ${o.slugs.exportRequests}/${id}: ${msg}`)
      const doc = (body?.doc ?? {}) as Record<string, unknown>
      if (doc.status === 'queued' && (await currentStatus(o, req.payload, id)) !== 'queued') {
        log(`attempt ${attempt} skipped: the request is no longer queued`)
        return { output: { outcome: 'skipped: no longer queued' } }
      }
      const reason = await send(o, JSON.stringify(body))
      if (!reason) {
        log(`delivered (attempt ${attempt})`)
        return { output: { outcome: 'delivered' } }
      }
      const final = attempt > o.delivery.retries
      const err = new Error(reason)
      if (o.onDeliveryError) o.onDeliveryError(err, { id, collection: o.slugs.exportRequests, attempt, final })
      else req.payload.logger.warn(`[export-service] delivery of ${o.slugs.exportRequests}/${id} failed (attempt ${attempt} of ${o.delivery.retries + 1}): ${reason}`)
      if (final) {
        const over = o.delivery.retries ? ` over ${retryWindowS(o)} s` : ''
        await recordFailure(
          o,
          req.payload,
          id,
          `export service unreachable: ${reason}; tried ${attempt} times${over}, nothing was exported. Re-run the request once the service is back.`,
        )
      }
      throw err
    },
  }
}

/**
 * Waits (at most maxMs) until the request's DB transaction has been committed or rolled back.
 * Adapters without transactions (db-sqlite's default) leave a resolved `Promise<null>` (seen in
 * hooks as a plain `{}`) in `req.transactionID`: that means "none".
 */
export async function waitForTransactionEnd(req: PayloadRequest, maxMs: number): Promise<void> {
  const until = Date.now() + maxMs
  while (Date.now() < until) {
    const t: any = req.transactionID
    if (!t) return
    if (typeof t !== 'string' && typeof t !== 'number' && typeof t.then !== 'function') return
    if (typeof t.then === 'function') {
      const id = await Promise.race([t, new Promise((r) => setTimeout(() => r(null), Math.max(0, until - Date.now())))])
      if (!id) return
      continue
    }
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Queues the delivery of one change and, on the fast path, runs it at once after the commit. */
export async function queueDelivery(o: Resolved, req: PayloadRequest, id: number | string, body: Record<string, unknown>): Promise<void> {
  const job = await req.payload.jobs.queue({
    task: DELIVERY_TASK as any,
    input: { exportRequest: String(id), body } as any,
    queue: o.delivery.queue,
    req,
    ...(o.delivery.inline ? { waitUntil: new Date(Date.now() + o.delivery.inlineGraceMs) } : {}),
  })
  if (o.debug) req.payload.logger.info(`[export-service] ${o.slugs.exportRequests}/${id}: delivery job ${job.id} queued`)
  if (!o.delivery.inline) return
  const payload = req.payload
  setImmediate(() => {
    waitForTransactionEnd(req, Math.max(o.timeoutMs, 2000))
      .then(() => payload.jobs.runByID({ id: job.id, silent: true }))
      .catch((err) => payload.logger.error({ err, msg: '[export-service] inline delivery crashed' }))
  })
}
