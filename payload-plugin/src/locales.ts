import type { Config, Endpoint } from 'payload'

/** Path of the endpoint, below Payload's `/api`. The export service asks it (cms_client/reading.py). */
export const LOCALES_PATH = '/export-service/locales'

type LocaleEntry = string | { code: string }

/**
 * `GET /api/export-service/locales` → `{ locales: ['en', 'de'], defaultLocale: 'en' }`:
 * the locales this Payload is configured with, which its REST API does not list. The export
 * service checks `options.locale` against them (a 422 naming them) and exports every one for
 * `locale: "all"`. Any logged-in user may ask; a Payload without localization lists none.
 */
export const localesEndpoint = (config: Config): Endpoint => ({
  path: LOCALES_PATH,
  method: 'get',
  handler: async (req) => {
    if (!req.user) {
      return Response.json({ errors: [{ message: 'You are not allowed to perform this action.' }] }, { status: 403 })
    }
    const localization = config.localization || null
    const locales = localization ? (localization.locales as LocaleEntry[]).map((l) => (typeof l === 'string' ? l : l.code)) : []
    const defaultLocale = localization ? localization.defaultLocale : null
    return Response.json({ locales, defaultLocale }, { headers: { 'Cache-Control': 'no-store' } })
  },
})
