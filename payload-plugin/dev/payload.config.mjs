// Dev Payload config (REST-only server, tests): the shared dev schema with the plugin built in ../dist.
import { buildConfig } from 'payload'

import { exportService } from '../dist/index.js'
import { devConfig } from './config-base.mjs'

export default buildConfig(devConfig(exportService))
