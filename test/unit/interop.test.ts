/**
 * What official OJS servers send that our own server does not, found by running
 * the SDK against an official Go backend: read leniently, map errors right.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { manifestFromJson } from "../../src/codec/admin.js";
import { jobFromJson } from "../../src/codec/json.js";
import { ConflictError, DuplicateJobError, NotFoundError, UnimplementedError } from "../../src/model/errors.js";
import { fromConnectError } from "../../src/transport/grpc/errors.js";
import { fromHttpResponse } from "../../src/transport/http/errors.js";

describe("reading official servers' shapes", () => {
  it("manifest extensions given as an object of groups", () => {
    const m = manifestFromJson({
      specversion: "1.0",
      extensions: { official: [{ name: "retry", uri: "x" }, { name: "cron" }], experimental: [{ name: "x" }] },
    });
    expect(m.extensions).toEqual(["retry", "cron", "x"]);
    expect(manifestFromJson({ extensions: ["a", { name: "b" }] }).extensions).toEqual(["a", "b"]);
  });

  it("parent results given as a list are keyed by position", () => {
    const j = jobFromJson({ id: "x", type: "t", args: [], parent_results: [{ r: 1 }, { r: 2 }] });
    expect(j.parentResults).toEqual({ "0": { r: 1 }, "1": { r: 2 } });
  });
});

describe("gRPC errors without ErrorInfo", () => {
  it("take the OJS code from a '[code] message' and keep the message clean", () => {
    const e = fromConnectError(new ConnectError("[not_found] job 123 not found", Code.NotFound), "getJob");
    expect(e).toBeInstanceOf(NotFoundError);
    expect(e.message).toBe("job 123 not found");
  });

  it("ALREADY_EXISTS is a duplicate only when creating; on ack or cancel it is a state conflict", () => {
    expect(fromConnectError(new ConnectError("exists", Code.AlreadyExists), "enqueue")).toBeInstanceOf(DuplicateJobError);
    expect(fromConnectError(new ConnectError("Cannot acknowledge job not in 'active' state", Code.AlreadyExists), "ack")).toBeInstanceOf(ConflictError);
    const tagged = fromConnectError(new ConnectError("[conflict] Cannot cancel job in terminal state 'cancelled'.", Code.AlreadyExists), "cancelJob");
    expect(tagged).toBeInstanceOf(ConflictError);
    expect(tagged.code).toBe("conflict");
  });
});

describe("HTTP errors without an OJS body", () => {
  it("a bare 404 or 405 means the route is missing, not the job", () => {
    const e = fromHttpResponse(404, undefined, {}, "streamEvents", "GET /ojs/v1/events/stream");
    expect(e).toBeInstanceOf(UnimplementedError);
    expect(e.message).toContain("GET /ojs/v1/events/stream");
    expect(fromHttpResponse(404, { error: { code: "not_found", message: "no job" } }, {}, "getJob")).toBeInstanceOf(NotFoundError);
  });
});
