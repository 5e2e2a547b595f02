// Who may read, change and delete export requests, and who may read export results in Media.
import type { Access, PayloadRequest, Where } from 'payload'

import type { AnyUser, Resolved } from './options.js'

/** A clause that matches nothing, so an access result stays a `Where`. */
const NOTHING: Where = { id: { exists: false } }

/** Ids of the projects `req.user` may read, through the projects collection's own read access. */
export async function readableProjectIds(o: Resolved, req: PayloadRequest): Promise<(number | string)[]> {
  const res = await req.payload.find({
    collection: o.slugs.projects as any,
    depth: 0,
    limit: 0,
    pagination: false,
    overrideAccess: false,
    user: req.user,
    req,
    select: {} as any,
  })
  return res.docs.map((d: any) => d.id)
}

/** The project document if `req.user` may read it under Payload's access control, else null. */
export async function readProjectAsUser(o: Resolved, req: PayloadRequest, id: unknown): Promise<Record<string, any> | null> {
  if (id === undefined || id === null || id === '') return null
  try {
    const doc = await req.payload.findByID({
      collection: o.slugs.projects as any,
      id: id as any,
      depth: 0,
      overrideAccess: false,
      user: req.user,
      req,
      disableErrors: true,
    })
    return (doc as Record<string, any>) ?? null
  } catch {
    return null
  }
}

export function exportRequestAccess(o: Resolved): { read: Access; create: Access; update: Access; delete: Access } {
  const read: Access = async ({ req }) => {
    const user = req.user as AnyUser
    if (!user) return false
    if (o.isService(user) || o.isAdmin(user)) return true
    const or: Where[] = []
    if (user.collection === o.slugs.users) or.push({ requestedBy: { equals: user.id } })
    const ids = await readableProjectIds(o, req)
    if (ids.length) or.push({ project: { in: ids } })
    return or.length ? { or } : NOTHING
  }
  return {
    read,
    create: ({ req }) => Boolean(req.user),
    update: read,
    delete: ({ req }) => o.isAdmin(req.user as AnyUser),
  }
}

/**
 * Read access of the media collection: export results (`exportOf` set) are readable by whoever may
 * read their project; every other media item keeps the collection's own rule.
 */
export function mediaReadAccess(o: Resolved, original: Access | undefined): Access {
  return async (args) => {
    const { req } = args
    const base = original ? await original(args) : Boolean(req.user)
    const user = req.user as AnyUser
    if (!user || o.isService(user)) return base
    const ids = await readableProjectIds(o, req)
    const results: Where = ids.length ? { exportOf: { in: ids } } : NOTHING
    const others: Where | null =
      base === true ? { exportOf: { exists: false } } : base ? { and: [{ exportOf: { exists: false } }, base as Where] } : null
    return others ? { or: [others, results] } : results
  }
}
