/** Sends steps as the case describes them: raw HTTP/1.1 requests with the case's own headers and body. */
import { Agent, request } from "node:http";
import type { JsonValue } from "../../src/model/json.js";
import type { Executor, StepRequest, StepResponse } from "./interpreter.js";

const OJS_CONTENT_TYPE = "application/openjobspec+json";

export class HttpExecutor implements Executor {
  readonly protocol = "http";
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = new URL(baseUrl);
  }

  send(req: StepRequest): Promise<StepResponse> {
    const payload = req.rawBody !== undefined ? Buffer.from(req.rawBody) : req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
    // As the reference runner does: a body without a declared type is sent as OJS JSON.
    if (payload && !headers["content-type"]) headers["content-type"] = OJS_CONTENT_TYPE;
    if (payload) headers["content-length"] = String(payload.length);
    const started = performance.now();
    return new Promise<StepResponse>((resolve, reject) => {
      const r = request(
        { hostname: this.base.hostname, port: this.base.port, path: req.path, method: req.method, headers, agent: this.agent, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const durationMs = Math.round(performance.now() - started);
            const text = Buffer.concat(chunks).toString("utf8");
            let body: JsonValue | undefined;
            try {
              body = text ? (JSON.parse(text) as JsonValue) : undefined;
            } catch {
              body = undefined;
            }
            const out: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
            resolve({ status: res.statusCode ?? 0, headers: out, text, body, durationMs });
          });
        },
      );
      r.on("timeout", () => r.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      r.on("error", reject);
      r.end(payload);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
