// A plain Payload + Next.js config, as create-payload-app writes it: no aliases, no path tricks.
// The plugin is resolved from node_modules, where scripts/make-app.mjs installed its packed tarball.
import { withPayload } from '@payloadcms/next/withPayload'

/** @type {import('next').NextConfig} */
const nextConfig = {
  eslint: { ignoreDuringBuilds: true },
}

export default withPayload(nextConfig, { devBundleServerPackages: false })
