/**
 * Runs `fn` at the end of the current tick, as queueMicrotask does, but for
 * less: Node wraps every queueMicrotask callback in an AsyncResource (an async
 * id, a scope entered and left), which on the hot paths (a refill after every
 * acknowledged frame, a frame of pipelined calls) cost more than the callback.
 * A reaction on a settled promise runs at the same point of the tick. `fn`
 * must not throw (a throw would be an unhandled rejection, as it would be an
 * uncaught exception from queueMicrotask).
 */
const settled = Promise.resolve();

export function onMicrotask(fn: () => void): void {
  void settled.then(fn);
}
