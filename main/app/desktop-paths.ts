// The folders the desktop app's requests may name. The desktop user owns the machine and picks files in native
// dialogs anywhere in their home, so the app allows the workspace plus the home folder (and $CWB_ALLOW_PATHS for
// data elsewhere, a mounted disk); system folders stay out of reach even if the page were compromised.
import { homedir } from 'node:os'
import { allowedPathsFromEnv } from '../services/paths'

export const DESKTOP_PATH_HINT = 'choose a file or folder in your home folder, or start the app with CWB_ALLOW_PATHS=DIR'

export function desktopAllowedPaths(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string[] {
  return [home, ...allowedPathsFromEnv(env)]
}
