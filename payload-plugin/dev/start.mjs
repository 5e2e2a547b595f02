// `npm run dev`: install/build if needed, then seed + serve — in ONE process, so a SIGTERM sent to
// `npm run dev` (npm forwards it to this child) reaches the server directly.
import './ensure-build.mjs'

await import('./server.mjs')
