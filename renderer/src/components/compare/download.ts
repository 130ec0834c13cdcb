// Files and the clipboard: how tables and charts leave the app.

function downloadUrl(name: string, url: string): void {
  const link = document.createElement('a')
  link.href = url
  link.download = name
  document.body.appendChild(link)
  link.click()
  link.remove()
}

export function downloadText(name: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }))
  downloadUrl(name, url)
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

export function downloadDataUrl(name: string, dataUrl: string): void {
  downloadUrl(name, dataUrl)
}

/** The async clipboard where the page may use it, else the older copy command (plain http on another host). */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text)
    return
  }
  const area = document.createElement('textarea')
  area.value = text
  area.style.position = 'fixed'
  area.style.opacity = '0'
  document.body.appendChild(area)
  area.select()
  const copied = document.execCommand('copy')
  area.remove()
  if (!copied) throw new Error('The browser refused to copy: select the table and copy it by hand, or download the CSV.')
}
