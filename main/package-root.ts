import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_NAME = 'co-rewarding-workbench'

/** The workbench's install folder, found from this file whether it runs from source (tests) or from out/ (built). */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME)
      return dir
    if (dirname(dir) === dir) throw new Error(`Cannot find the ${PACKAGE_NAME} package folder above ${from}`)
  }
}

/** The base model the workbench ships (resources/base-model): the default starting checkpoint, named `base`. */
export const shippedBaseModel = (): string => join(packageRoot(), 'resources', 'base-model')

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version
}
