import { BrowserWindow } from 'electron'
import { hardenContents, webPreferences } from './security'

export function createMainWindow(paths: { preload: string; html: string; icon: string }): BrowserWindow {
  const window = new BrowserWindow({
    width: 1360,
    height: 880,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'Co-rewarding Workbench',
    icon: paths.icon,
    backgroundColor: '#f7f8fa',
    webPreferences: webPreferences(paths.preload),
  })
  hardenContents(window.webContents)
  window.once('ready-to-show', () => window.show())
  void window.loadFile(paths.html)
  return window
}
