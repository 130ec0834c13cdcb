/// <reference types="vite/client" />
import type { WorkbenchBridge } from '../../preload/contract'

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

declare global {
  interface Window {
    /** Present in the desktop app (exposed by the preload); absent in browser mode. */
    api?: WorkbenchBridge
  }
}
