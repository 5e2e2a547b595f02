// What the project view sends as a PDF request's `params` (no React here, so it is testable in Node).
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
