// What `@payload-config` (tsconfig paths) and `payload generate:importmap` load.
export { default } from './payload.config.mjs'
