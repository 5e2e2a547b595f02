/**
 * The export vocabulary shared with the export service. Every list of statuses, export types and
 * sources in this package (select options, admin components, the re-run rule) derives from these
 * constants; the service's test compares them with its own enums, so keep the values and this
 * file's path (`payload-plugin/src/vocabulary.ts`) stable.
 */

/** Every status an export request can have, in lifecycle order. */
export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

/** Statuses after which the service writes nothing more. */
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'cancelled'] as const satisfies readonly JobStatus[]

/** Statuses a person may set back to `queued` (a re-run, authorised as that person). */
export const RERUNNABLE_STATUSES = ['failed', 'cancelled'] as const satisfies readonly JobStatus[]

/** What the service can export. */
export const EXPORT_TYPES = ['project-pdf', 'project-zip', 'video'] as const
export type ExportType = (typeof EXPORT_TYPES)[number]

/** Where an export request came from. */
export const SOURCES = ['admin', 'rest', 'mcp', 'cli'] as const
export type Source = (typeof SOURCES)[number]

/** PDF brief options the service accepts (`params.options`), see the service's docs/pdf-brief.md. */
export const PDF_PAPER_SIZES = ['A4', 'Letter'] as const
export const PDF_ORIENTATIONS = ['portrait', 'landscape'] as const
export const PDF_SECTIONS = ['cover', 'toc', 'summary', 'details', 'scripts', 'media'] as const
export type PdfSection = (typeof PDF_SECTIONS)[number]

export const isTerminal = (status: unknown): boolean =>
  (TERMINAL_STATUSES as readonly unknown[]).includes(status)

export const isRerunnable = (status: unknown): boolean =>
  (RERUNNABLE_STATUSES as readonly unknown[]).includes(status)
