'use client'
import { Pill } from '@payloadcms/ui'
import React from 'react'

import type { PluginTranslationKey } from '../translations/index.js'
import { useSay } from './api.js'

const STYLES: Record<string, 'dark' | 'error' | 'light-gray' | 'success' | 'warning'> = {
  queued: 'light-gray',
  running: 'dark',
  succeeded: 'success',
  failed: 'error',
  cancelled: 'warning',
}

/** An export's status as Payload's own pill, in the admin's language. */
export function StatusPill(props: { status: string; size?: 'medium' | 'small' }) {
  const say = useSay()
  return (
    <Pill pillStyle={STYLES[props.status] ?? 'light-gray'} size={props.size ?? 'small'}>
      <span data-testid="export-status-pill">{say(props.status as PluginTranslationKey)}</span>
    </Pill>
  )
}
