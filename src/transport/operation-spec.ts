/**
 * The shape of one row of the operation table (./operations.ts): what an OJS
 * operation is, and how each binding carries it. Types only; the rows are
 * checked against the Transport interface, so a conversion that takes or
 * returns the wrong thing fails to compile.
 */
import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { OJSService } from "../../gen/ojs/v1/service_pb.js";
import type { OjsError } from "../model/errors.js";
import type { JsonObject, JsonValue } from "../model/json.js";
import type { Transport } from "./transport.js";
import type { GrpcCallOptions } from "./grpc/calls.js";
import type { StandardCalls } from "./grpc/standard.js";

/** The Transport methods that are one request and one answer (not the streams, not `name`/`admin`). */
export type UnaryMethod = {
  [K in keyof Transport]-?: NonNullable<Transport[K]> extends (...a: never[]) => Promise<unknown> ? K : never;
}[keyof Transport];

/** The arguments of a Transport method, call options (always last) included. */
export type ArgsOf<K extends UnaryMethod> = Parameters<NonNullable<Transport[K]>>;
/** What a Transport method resolves to. */
export type ResultOf<K extends UnaryMethod> = Awaited<ReturnType<NonNullable<Transport[K]>>>;
/** How many arguments come before the call options. */
type Arity<P extends unknown[]> = [never, 0, 1, 2, 3][Required<P>["length"]];

/** One request of the HTTP binding, before the transport adds its headers and deadline. */
export interface HttpRequestParts {
  /** Values for the path's {placeholders}; each is URI-encoded. */
  params?: Record<string, string | number | undefined>;
  /** Appended to the path as is ("?a=1"), or "". */
  query?: string;
  body?: JsonValue;
  /** The call's deadline is raised to at least this (a long poll must outlast its wait). */
  minTimeoutMs?: number;
}

export interface HttpBinding<P extends unknown[], O> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Under the transport's URL; `{name}` is a parameter, `[/{name}]` one that may be left out. */
  path: string;
  /** The operation's arguments as path parameters, query and JSON body; none when absent. */
  request?(args: P): HttpRequestParts;
  /** The JSON answer (an object; {} when the body is empty or not an object) as the model. */
  response(body: JsonObject, args: P): O;
  /** Statuses beyond 2xx that are answers, not errors (health: 503 "unhealthy"). */
  answers?: readonly number[];
  /** An error that is an answer after all (a 404 that means "none"); undefined to throw it. */
  recover?(e: OjsError, args: P): { value: O } | undefined;
}

type Rpcs = (typeof OJSService)["method"];
/** The ojs.v1 methods with one request and one answer, by their connect-es names. */
export type UnaryRpc = { [M in keyof Rpcs]: Rpcs[M]["methodKind"] extends "unary" ? M : never }[keyof Rpcs];

/** What a proto conversion may ask of the server: whether it is ours (it reads the reserved meta keys). */
export interface ServerView {
  ours(): Promise<boolean>;
}

interface RpcBinding<P extends unknown[], O, M extends UnaryRpc> {
  rpc: M;
  request(args: P, server: ServerView): MessageInitShape<Rpcs[M]["input"]> | Promise<MessageInitShape<Rpcs[M]["input"]>>;
  /** Call headers the request carries beside its message. */
  headers?(args: P): Record<string, string> | undefined;
  response(r: MessageShape<Rpcs[M]["output"]>, args: P): O;
  /**
   * The same call hand-framed on the transport's own HTTP/2 session (./grpc/standard.ts),
   * for the methods producers and workers call in a loop; the RPC above serves
   * in-process (connect) transports. `ours`: whether the server reads the reserved meta keys.
   */
  framed?(calls: StandardCalls, args: P, o: GrpcCallOptions, ours: boolean): Promise<O>;
}

/**
 * An ojs.v1 RPC with its conversions; "http" where the proto has no RPC and the
 * gRPC transport sends it over the HTTP binding; "own" where the transport
 * writes the call out itself (heartbeat: one RPC per active job).
 */
export type GrpcBinding<P extends unknown[], O> = { [M in UnaryRpc]: RpcBinding<P, O, M> }[UnaryRpc] | "http" | "own";

export interface OperationSpec<K extends UnaryMethod> {
  /**
   * Safe to send again after a failure whose outcome is unknown. "keyed": only
   * when every job in the request carries an id or a unique key, so the server
   * folds a repeat into the first.
   */
  idempotent: boolean | "keyed";
  /** How many arguments the Transport method takes before its call options. */
  args: Arity<ArgsOf<K>>;
  http: HttpBinding<ArgsOf<K>, ResultOf<K>>;
  grpc: GrpcBinding<ArgsOf<K>, ResultOf<K>>;
}

/** A table of operations, each row checked against its Transport method. */
export type OperationTable = { readonly [K in UnaryMethod]?: OperationSpec<K> };
