import { de } from './de.js'
import { en } from './en.js'

/** The plugin's translations, one object per language, merged into `config.i18n.translations`. */
export type PluginTranslations = typeof en
export type PluginTranslationKeys = `plugin-export-service:${keyof (typeof en)['plugin-export-service']}`
export type PluginTranslationKey = keyof (typeof en)['plugin-export-service']

export const NAMESPACE = 'plugin-export-service'

export const translations: Record<string, PluginTranslations> = { de, en }

/** `plugin-export-service:<key>`, as `t()` takes it. */
export const tKey = (key: PluginTranslationKey): PluginTranslationKeys => `${NAMESPACE}:${key}`
