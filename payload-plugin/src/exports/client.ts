'use client'
// Client components of the plugin, referenced from the Payload config as
// `payload-plugin-export-service/client#<Name>` (Payload's import map).
export { ExportActions, videoUnavailableReason } from '../admin/ExportActions.js'
export { pdfParams } from '../admin/pdfParams.js'
export type { ExportActionsProps } from '../admin/ExportActions.js'
export { ExportProgressCell } from '../admin/ExportProgressCell.js'
export { ExportRequestStatus } from '../admin/ExportRequestStatus.js'
export { LastExports } from '../admin/LastExports.js'
export { ProgressBar } from '../admin/ProgressBar.js'
export { StatusPill } from '../admin/StatusPill.js'
export { useExportProgress } from '../admin/useExportProgress.js'
