import { ExportActions as ExportActions_99ef833af2a49cf0323a04f6503595fc } from 'payload-plugin-export-service/client'
import { ExportRequestStatus as ExportRequestStatus_99ef833af2a49cf0323a04f6503595fc } from 'payload-plugin-export-service/client'
import { ExportProgressCell as ExportProgressCell_99ef833af2a49cf0323a04f6503595fc } from 'payload-plugin-export-service/client'
import { CollectionCards as CollectionCards_f9c02e79a4aed9a3924487c0cd4cafb1 } from '@payloadcms/next/rsc'

/** @type import('payload').ImportMap */
export const importMap = {
  "payload-plugin-export-service/client#ExportActions": ExportActions_99ef833af2a49cf0323a04f6503595fc,
  "payload-plugin-export-service/client#ExportRequestStatus": ExportRequestStatus_99ef833af2a49cf0323a04f6503595fc,
  "payload-plugin-export-service/client#ExportProgressCell": ExportProgressCell_99ef833af2a49cf0323a04f6503595fc,
  "@payloadcms/next/rsc#CollectionCards": CollectionCards_f9c02e79a4aed9a3924487c0cd4cafb1
}
