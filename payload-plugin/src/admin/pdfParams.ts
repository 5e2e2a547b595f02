// What the project view sends as a request's `params` (no React here, so it is testable in Node).
import { PDF_ORIENTATIONS, PDF_PAPER_SIZES, PDF_SECTIONS, type PdfSection } from '../vocabulary.js'

export type PdfOptions = { paperSize: string; orientation: string; sections: PdfSection[] }

/** `params.options` for the service: only what differs from its defaults. */
export function pdfParams(o: PdfOptions): Record<string, unknown> {
  const options: Record<string, unknown> = {}
  if (o.paperSize !== PDF_PAPER_SIZES[0]) options.paperSize = o.paperSize
  if (o.orientation !== PDF_ORIENTATIONS[0]) options.orientation = o.orientation
  if (o.sections.length !== PDF_SECTIONS.length) options.sections = PDF_SECTIONS.filter((s) => o.sections.includes(s))
  return Object.keys(options).length ? { options } : {}
}

/**
 * The admin's current locale code, from `useLocale()`: a `Locale` where Payload has
 * localization, `{}` or `false` where it has none (then undefined).
 */
export function localeCode(locale: unknown): string | undefined {
  const code = locale && typeof locale === 'object' ? (locale as { code?: unknown }).code : undefined
  return typeof code === 'string' && code ? code : undefined
}

/** `params` with `options.locale` set to the admin's locale, so an editor exports what they see. */
export function withLocale(params: Record<string, unknown>, locale: unknown): Record<string, unknown> {
  const code = localeCode(locale)
  if (!code) return params
  const options = (params.options as Record<string, unknown> | undefined) ?? {}
  return { ...params, options: { ...options, locale: code } }
}
