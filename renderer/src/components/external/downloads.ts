// Files the host wrote under `<workspace>/exports` (bundles, verl exports): downloadable in browser mode, where the
// user has no path on the host; the desktop app shows their paths instead.
import { api } from '../../api/client'

export const canDownload = api.transport === 'http'

export const downloadHref = (path: string): string => `/api/download?path=${encodeURIComponent(path)}`

/** The last part of a path, for link labels (host paths may use either separator). */
export const fileName = (path: string): string => path.split(/[\\/]/).at(-1) ?? path
