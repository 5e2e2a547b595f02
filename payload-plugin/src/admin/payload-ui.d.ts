// Minimal typings of the @payloadcms/ui hooks the admin components use.
//
// @payloadcms/ui (with Next.js and React) is a peer of the host app, not a dev dependency of this
// package: the REST-only tests must not install the admin UI. These declarations are checked against
// the real package by `npm --prefix payload-plugin/admin-dev run typecheck` (which leaves this file out).
declare module '@payloadcms/ui' {
  export function useDocumentInfo(): {
    id?: number | string
    collectionSlug?: string
    data?: Record<string, any>
    savedDocumentData?: Record<string, any>
  }
  export function useForm(): {
    dispatchFields: (action: { type: 'UPDATE'; path: string; value?: unknown; initialValue?: unknown }) => void
  }
  export function useConfig(): {
    config: {
      serverURL: string
      routes: { admin: string; api: string }
    }
  }
}
