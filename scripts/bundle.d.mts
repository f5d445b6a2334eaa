/** Bundles build/ (tsc's output) into dist/, below `root` (the repository by default). */
export function bundle(root?: string): Promise<void>
