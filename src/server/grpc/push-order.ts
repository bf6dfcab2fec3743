/**
 * Jobs pushed to a streaming worker leave before the answers that made them
 * available. node:http2 sends what a session's own receive callback wrote at
 * the end of that callback, but what was written to any other session only
 * in the next check phase (a native setImmediate): an enqueue answer would
 * reach the producer before the pushed job reached its worker, and where both
 * share a process (or a core) the worker waits while the producer reads its
 * answer. An answer written while a push is leaving goes out in a
 * setImmediate of its own, which runs after those native ones.
 */
let leaving = false;

function left(): void {
  leaving = false;
}

/** A job was written to a StreamJobs stream in this turn of the event loop. */
export function notePush(): void {
  if (leaving) return;
  leaving = true;
  setImmediate(left);
}

/** True while a push written in this turn has not left yet. */
export function pushLeaving(): boolean {
  return leaving;
}
