/**
 * A raw Server-Sent Events reader for tests: GET `path` on `baseUrl` with
 * `accept: text/event-stream`, collecting what arrives until close(). A
 * socket hang-up after close() is expected and not an error.
 */
import { request } from "node:http";

export interface SseReader {
  chunks: string[];
  text(): string;
  close(): void;
  status: number;
  type: string | undefined;
}

export function openSse(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<SseReader> {
  return new Promise((resolve, reject) => {
    const u = new URL(baseUrl);
    const r = request({ hostname: u.hostname, port: u.port, path, headers: { accept: "text/event-stream", ...headers } }, (res) => {
      const chunks: string[] = [];
      res.setEncoding("utf8");
      res.on("data", (c: string) => chunks.push(c));
      res.on("error", () => undefined);
      resolve({ chunks, text: () => chunks.join(""), close: () => r.destroy(), status: res.statusCode ?? 0, type: res.headers["content-type"] });
    });
    r.on("error", (e) => (e.message.includes("socket hang up") ? undefined : reject(e)));
    r.end();
  });
}
