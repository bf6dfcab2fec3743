/**
 * Hooks for other parts of this package (the testing toolkit), not for users:
 * symbol-keyed so they stay off the Worker's public surface.
 */
export const kRunJob: unique symbol = Symbol("ojs-connect.worker.runJob");
