// File-system errors in words: "no such file or folder" rather than ENOENT, for every message that names a path.

const WORDS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'the path is a loop of symbolic links',
  ENAMETOOLONG: 'the path is too long',
}

/** What went wrong reading or writing a path, in words (the system's message where there are no better words). */
export function fileErrorWords(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  if (code !== undefined && WORDS[code] !== undefined) return WORDS[code]
  // Node's messages read "ENOENT: no such file or directory, open '/x'": keep the words, not the code or the path.
  const message = (error as Error).message ?? String(error)
  return message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '')
}
