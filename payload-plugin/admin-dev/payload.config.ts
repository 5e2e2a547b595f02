// The admin app runs the SAME Payload config as the REST-only dev server (../dev): same schema,
// database, seed and plugin options. The plugin registers its admin components itself; nothing
// here is specific to them.
import config from '../dev/payload.config.mjs'

export default config
