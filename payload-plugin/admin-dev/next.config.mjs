import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { withPayload } from '@payloadcms/next/withPayload'

const here = path.dirname(fileURLToPath(import.meta.url))
const mods = path.join(here, 'node_modules')

/** @type {import('next').NextConfig} */
const nextConfig = {
  // The Payload config and the plugin live outside this folder (../dev, ../dist).
  outputFileTracingRoot: path.resolve(here, '..'),
  eslint: { ignoreDuringBuilds: true },
  webpack: (config) => {
    config.resolve ??= {}
    config.resolve.alias = {
      ...(config.resolve.alias ?? {}),
      // ../dev/payload.config.mjs and ../dist import these; use THIS app's copies, never the REST-only
      // server's (../node_modules), so there is exactly one Payload in the bundle.
      payload$: fileURLToPath(import.meta.resolve('payload')),
      '@payloadcms/db-sqlite$': fileURLToPath(import.meta.resolve('@payloadcms/db-sqlite')),
      // the plugin's client components, as a host app imports them (see app/(payload)/admin/importMap.js)
      'payload-plugin-export-service/client$': path.resolve(here, '../dist/admin/index.js'),
    }
    // bare imports from ../dist/admin (e.g. @payloadcms/ui) that ../node_modules does not have
    config.resolve.modules = [...(config.resolve.modules ?? ['node_modules']), mods]
    return config
  },
}

export default withPayload(nextConfig, { devBundleServerPackages: false })
