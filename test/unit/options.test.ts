/** Every mistake in an options object fails at construction and says what to fix. */
import { describe, expect, it } from "vitest";
import { Client, grpcTransport, httpTransport, ValidationError, Worker } from "../../src/index.js";
import { resolveTransport } from "../../src/transport/connection.js";
import { closest, levenshtein } from "../../src/util/did-you-mean.js";
import { TRANSPORTS } from "../helpers.js";

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as Error).message;
  }
  throw new Error("no error thrown");
}

describe("URL: http(s) only, at construction", () => {
  it.each(TRANSPORTS)("new Client / new Worker over %s reject htp:// before any call", (transport) => {
    expect(messageOf(() => new Client({ url: "htp://localhost:8080", transport }))).toBe(
      'url: "htp://localhost:8080" must start with http:// or https:// (got "htp:")',
    );
    expect(messageOf(() => new Worker({ url: "htp://localhost:8080", transport, handleSignals: false }))).toMatch(/^url: .*must start with http:\/\//);
    expect(messageOf(() => new Client({ url: "localhost:8080", transport }))).toMatch(/^url: /);
    expect(messageOf(() => new Client({ url: "not a url", transport }))).toMatch(/is not a valid URL \(expected e\.g\. "http:\/\/localhost:8080"\)/);
  });

  it("the transports check it too, and httpUrl", () => {
    expect(messageOf(() => grpcTransport({ url: "ftp://x" }))).toMatch(/^url: /);
    expect(messageOf(() => httpTransport({ url: "ftp://x" }))).toMatch(/^url: /);
    expect(messageOf(() => grpcTransport({ url: "http://x:9090", httpUrl: "x:8080" }))).toMatch(/^httpUrl: /);
  });

  it("a URL from OJS_URL says where it came from", () => {
    expect(messageOf(() => resolveTransport({}, { OJS_URL: "htp://from-env" }))).toMatch(/^url \(from OJS_URL\): /);
  });
});

describe("unknown option keys name the nearest known one", () => {
  it("Client", () => {
    expect(messageOf(() => new Client({ urll: "http://localhost:1" } as never))).toBe('new Client: unknown key "urll" (did you mean "url"?)');
    expect(messageOf(() => new Client({ retries: true } as never))).toBe('new Client: unknown key "retries" (did you mean "retry"?)');
  });

  it("Worker", () => {
    expect(messageOf(() => new Worker({ concurrancy: 5 } as never))).toBe('new Worker: unknown key "concurrancy" (did you mean "concurrency"?)');
    expect(messageOf(() => new Worker({ queue: ["a"] } as never))).toBe('new Worker: unknown key "queue" (did you mean "queues"?)');
    expect(messageOf(() => new Worker({ dispatch: "pol" } as never))).toBe('dispatch: must be "auto", "stream", "poll", got "pol"');
  });

  it("transports", () => {
    expect(messageOf(() => grpcTransport({ url: "http://x", fastpath: false } as never))).toBe(
      'grpcTransport: unknown key "fastpath" (did you mean "fastPath"?)',
    );
    expect(messageOf(() => httpTransport({ url: "http://x", maxSocket: 3 } as never))).toBe(
      'httpTransport: unknown key "maxSocket" (did you mean "maxSockets"?)',
    );
  });

  it("a key like nothing known lists the known keys", () => {
    expect(messageOf(() => new Client({ zzzzzzzz: 1 } as never))).toMatch(/unknown key "zzzzzzzz" \(known keys: url, transport, .*retry, limits\)/);
  });

  it.each(TRANSPORTS)("enqueue options over %s: { priorty: 5 } names priority, before any I/O", async (transport) => {
    // Nothing listens on port 1: the error must come from validation, not from the network.
    const c = new Client({ url: "http://127.0.0.1:1", transport, logger: false });
    try {
      const e = await c.enqueue("a.b", [], { priorty: 5 } as never).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as Error).message).toBe('options: unknown key "priorty" (did you mean "priority"?)');
      await expect(c.enqueue("a.b", [], { retry: { maxAttemps: 3 } } as never)).rejects.toThrow(
        'options.retry: unknown key "maxAttemps" (did you mean "maxAttempts"?)',
      );
      await expect(c.enqueue("a.b", [], 5 as never)).rejects.toThrow("options: must be an object");
    } finally {
      await c.close();
    }
  });

  it("logger must be false or a logger", () => {
    expect(messageOf(() => new Client({ url: "http://x", logger: console.log } as never))).toMatch(
      /logger must be false or an object with info, warn and error/,
    );
    expect(() => new Client({ url: "http://x", logger: console })).not.toThrow();
  });
});

describe("did you mean", () => {
  it("levenshtein and the nearness bound", () => {
    expect(levenshtein("priorty", "priority")).toBe(1);
    expect(levenshtein("", "abc")).toBe(3);
    expect(levenshtein("kitten", "sitting")).toBe(3);
    expect(closest("TIMEOUTMS", ["timeoutMs", "tls"])).toBe("timeoutMs");
    expect(closest("banana", ["url", "tls"])).toBeUndefined();
  });
});
