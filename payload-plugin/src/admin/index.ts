'use client'
// Client components of the plugin, referenced from the Payload config as
// `payload-plugin-export-service/client#<Name>` (Payload's import map).
export { ExportActions, videoUnavailableReason } from './ExportActions.js'
export type { ExportActionsProps } from './ExportActions.js'
export { ExportProgressCell } from './ExportProgressCell.js'
export { ExportRequestStatus } from './ExportRequestStatus.js'
export { ProgressBar } from './ProgressBar.js'
export { useExportProgress } from './useExportProgress.js'
