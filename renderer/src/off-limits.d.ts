// What tsconfig.web.json maps Node-only packages to: the renderer gets nothing from them (and so cannot
// pull Node's types in through their declarations). Talk to the host through the API contract instead.
export {}
