/**
 * Ending an HTTP/2 stream whose request the server will not read to the end
 * (a refused request, a gRPC call failed while the client is still sending):
 * RST_STREAM NO_ERROR, as gRPC servers end such a call. A pipelining client
 * never half-closes, so without the reset the stream would stay open.
 */
import { constants, type ServerHttp2Stream } from "node:http2";

/**
 * Once `after` fired on the stream, resets it unless the request was read to
 * the end (`readAll`). The reset waits a turn of the event loop, so the
 * answer's frames are on the wire before RST_STREAM.
 */
export function resetUnreadStream(stream: ServerHttp2Stream, after: "finish" | "wantTrailers", readAll: () => boolean): void {
  stream.once(after, () => {
    if (readAll()) return;
    setImmediate(() => {
      if (!stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
    });
  });
}
