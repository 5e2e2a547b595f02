"""The ZIP bundle: scripts, manifest and media streamed into ZIP64 or tar.gz."""
