/** A mistake in how a command was called: exit code 2 (failures are 1). */
export class UsageError extends Error {}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const
