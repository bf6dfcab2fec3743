/**
 * A standard unary answer sent in one write (src/server/grpc/one-write.ts)
 * costs no error object: node destroys the stream when the trailers close it,
 * before the message's write reports back, and node's Writable then makes an
 * ERR_STREAM_DESTROYED (with its stack) for every answer unless the stream's
 * writable side already has an error. The one-write path gives it one shared
 * error; checked here on the server's streams (server and client share this
 * process): each answered stream is destroyed and carries that one error.
 */
import type { ServerHttp2Stream } from "node:http2";
import { Duplex } from "node:stream";
import { afterEach, expect, it } from "vitest";
import { Client, Worker } from "../../src/index.js";
import { uniqueQueue, useServer } from "../helpers.js";

const ctx = useServer({ fastPath: false });

const end = Duplex.prototype.end;
afterEach(() => {
  Duplex.prototype.end = end;
});

/** The server streams ended with a message from now on (the unary answers' `end(message)`). */
function collectAnswers(): ServerHttp2Stream[] {
  const streams: ServerHttp2Stream[] = [];
  Duplex.prototype.end = function (this: Duplex, ...a: unknown[]) {
    if (this.constructor.name === "ServerHttp2Stream" && a[0] instanceof Uint8Array && streams.length < 1_000) streams.push(this as ServerHttp2Stream);
    return (end as (...x: unknown[]) => Duplex).apply(this, a);
  } as typeof end;
  return streams;
}

/** The error node's Writable holds for the stream's writable side (what it hands late write callbacks). */
const writableError = (s: ServerHttp2Stream): Error | null | undefined =>
  (s as unknown as { _writableState?: { errored?: Error | null } })._writableState?.errored;

it("standard Enqueue and Ack answers leave no error to be made per call", async () => {
  const queue = uniqueQueue("answer-errors");
  const client = new Client({ url: ctx.url, transport: "grpc", logger: false });
  const worker = new Worker({ url: ctx.url, transport: "grpc", queues: [queue], concurrency: 4, handleSignals: false, logger: false });
  let done = 0;
  worker.register("noop", () => void done++);
  try {
    void worker.start();
    await client.enqueue("noop", [0], { queue });
    await expect.poll(() => done, { timeout: 10_000 }).toBe(1);
    const answers = collectAnswers();
    const calls = 20;
    for (let i = 0; i < calls; i++) await client.enqueue("noop", [i], { queue });
    await expect.poll(() => done, { timeout: 10_000 }).toBe(1 + calls);
    // Every Enqueue and Ack answer (the last Ack may still be on its way).
    await expect.poll(() => answers.filter((s) => s.destroyed).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2 * calls);
    const errors = new Set(answers.filter((s) => s.destroyed).map(writableError));
    // One shared error, never null (null: node made a new one for the late write callback).
    expect(errors.size).toBe(1);
    expect(String([...errors][0]?.message)).toMatch(/answer and its trailers were sent/);
  } finally {
    Duplex.prototype.end = end;
    await worker.stop({ gracePeriodMs: 1_000 });
    await client.close();
  }
});
