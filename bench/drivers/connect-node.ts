/**
 * The reference of bench/peer.ts: a plain connect-node gRPC client of the
 * generated ojs.v1 service, with none of the SDK (no codec, no manifest, no
 * retries), so that the SDK's gRPC transport can be compared with what the
 * stock library does against the same server. Producer calls only.
 */
import { fromJson } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { OJSService } from "../../gen/ojs/v1/service_pb.js";
import { JOB_TYPE } from "../common.js";
import type { Args, Driver } from "./index.js";

export function connectNodeDriver(url: string, queue: string): Driver {
  const baseUrl = url.replace(/\/$/, "");
  const session = new Http2SessionManager(baseUrl);
  const rpc = createClient(OJSService, createGrpcTransport({ baseUrl, sessionManager: session }));
  const values = (args: Args): Value[] => args.map((a) => fromJson(ValueSchema, a));
  return {
    enqueue: (args) => rpc.enqueue({ type: JOB_TYPE, args: values(args), options: { queue } }),
    enqueueBatch: (list) => rpc.enqueueBatch({ jobs: list.map((args) => ({ type: JOB_TYPE, args: values(args) })), defaultOptions: { queue } }),
    startWorker() {
      return Promise.reject(new Error("the connect-node reference is a producer only: the worker figures are the SDK's"));
    },
    close() {
      session.abort();
      return Promise.resolve();
    },
  };
}
