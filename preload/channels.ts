// Electron IPC channel names, kept apart from the schemas so the sandboxed preload bundles nothing else.
export const IPC_CALL = 'cwb:call'
export const IPC_EVENT = 'cwb:event'
