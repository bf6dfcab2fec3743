/** A loopback webhook endpoint for tests: records each request and answers as the test says. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}

/** A loopback endpoint; `answer` decides each response (status, or "hang" to hold the request until released). */
export class Receiver {
  readonly got: Received[] = [];
  answer: (n: number) => number | "hang" = () => 200;
  private hung: ServerResponse[] = [];
  private server!: Server;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => (body += c));
      req.on("end", () => {
        this.got.push({ headers: req.headers, body });
        const a = this.answer(this.got.length);
        if (a === "hang") this.hung.push(res);
        else res.writeHead(a).end(a === 200 ? "ok" : "no");
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  release(): void {
    for (const r of this.hung.splice(0)) r.writeHead(200).end("late");
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
