// The app's Payload config: the dev schema (dev/config-base.mjs, copied in by scripts/make-app.mjs)
// with the plugin imported by its package name, as any host app imports it. Plain ESM so the seed
// script loads it with plain node.
import { buildConfig } from 'payload'
import { exportService } from 'payload-plugin-export-service'

import { devConfig } from './dev/config-base.mjs'

export default buildConfig(devConfig(exportService))
