// Browser mode has no file paths: the file's bytes go to the host (`POST /api/upload?name=FILE`, authenticated by
// the session cookie), which answers `{ok, result: {path}}` with a path that previewImport and import accept.
import { ref } from 'vue'

export function useDatasetUpload() {
  const uploading = ref(false)
  /** Bytes sent over the file's size, while an upload runs. */
  const sent = ref(0)

  function upload(file: File): Promise<string> {
    uploading.value = true
    sent.value = 0
    // XMLHttpRequest rather than fetch: it reports upload progress, which matters for files of hundreds of MB.
    return new Promise<string>((resolve, reject) => {
      const request = new XMLHttpRequest()
      request.open('POST', `/api/upload?name=${encodeURIComponent(file.name)}`)
      request.withCredentials = true
      request.upload.onprogress = (event) => {
        if (event.lengthComputable && event.total > 0) sent.value = event.loaded / event.total
      }
      request.onload = () => {
        let body: { result?: { path?: unknown }; error?: { message?: string } } = {}
        try {
          body = JSON.parse(request.responseText) as typeof body
        } catch {
          // Not JSON: the status line and text say what went wrong.
        }
        const path = body.result?.path
        if (request.status >= 200 && request.status < 300 && typeof path === 'string') resolve(path)
        else {
          const why = body.error?.message ?? request.responseText.trim()
          reject(new Error(`Uploading ${file.name} failed (${request.status}): ${why || 'no answer from the host'}`))
        }
      }
      request.onerror = () => reject(new Error(`Uploading ${file.name} failed: the workbench could not be reached.`))
      request.send(file)
    }).finally(() => {
      uploading.value = false
    })
  }

  return { upload, uploading, sent }
}
