/**
 * The standard ojs.v1 unary methods that producers and workers call in a loop
 * (Enqueue, GetJob, Fetch, Ack, Nack, Heartbeat), hand-framed over the
 * transport's HTTP/2 connection (./wire.ts) and encoded by the hand-written
 * codec. Any ojs.v1 server answers them; the messages and their meaning are
 * those of the connect-es path they replace (see ../../codec/proto.ts), so a
 * server cannot tell the two apart.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FetchRequestSchema, HeartbeatRequestSchema, HeartbeatResponseSchema, type HeartbeatResponse } from "../../../gen/ojs/v1/worker_pb.js";
import { GetJobRequestSchema } from "../../../gen/ojs/v1/job_pb.js";
import { VISIBILITY_HEADER, workerStateToProto } from "../../codec/proto.js";
import { durationFromMs } from "../../codec/values.js";
import {
  decodeFetchResponse,
  decodeJobResponse,
  decodeNackResponse,
  encodeAckRequest,
  encodeEnqueueRequest,
  encodeNackRequest,
} from "../../codec/wire/index.js";
import { OjsError, ValidationError } from "../../model/errors.js";
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { NackResult, WorkerDirective } from "../../model/system.js";
import type { AckRequest, FetchJobsRequest, NackRequest } from "../transport.js";
import { nackErrorForProto } from "./messages.js";
import type { GrpcWire } from "./wire.js";

const SERVICE = "/ojs.v1.OJSService/";

/** What the transport resolved for one call: its deadline, signal and headers (auth included; a fresh object per call, which the call adds to). */
export interface StandardCallOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  headers: Record<string, string>;
}

/** One heartbeat of the proto: one job (or none, "" to report the worker's state). */
export interface JobBeat {
  id: string;
  workerId: string;
  state: WorkerDirective;
  visibilityTimeoutMs?: number | undefined;
}

export class StandardCalls {
  constructor(private readonly wire: GrpcWire) {}

  // The calls a loop makes are promise chains, not async functions: no extra promise and microtask hops per call
  // (and no named closures made per call, which a keepNames build such as tsx's renames one by one).
  enqueue(req: NormalizedJobRequest, tunnel: boolean, o: StandardCallOptions): Promise<Job> {
    return this.encodedCall("Enqueue", "enqueue", () => encodeEnqueueRequest(req, Date.now(), tunnel), o).then(enqueuedJob);
  }

  async getJob(id: string, o: StandardCallOptions): Promise<Job> {
    const bytes = toBinary(GetJobRequestSchema, create(GetJobRequestSchema, { jobId: id }));
    return jobOf(await this.call("GetJob", bytes, o), "GetJob");
  }

  async fetch(req: FetchJobsRequest, o: StandardCallOptions): Promise<Job[]> {
    const bytes = toBinary(FetchRequestSchema, create(FetchRequestSchema, { queues: req.queues, count: req.count, workerId: req.workerId }));
    // The proto has no field for it: the lease the worker asks for travels as a header, read by ojs-connect servers.
    const call = req.visibilityTimeoutMs ? { ...o, headers: { ...o.headers, [VISIBILITY_HEADER]: String(req.visibilityTimeoutMs) } } : o;
    return decodeFetchResponse(await this.call("Fetch", bytes, call));
  }

  ack(req: AckRequest, o: StandardCallOptions): Promise<void> {
    // AckResponse says only "acknowledged"; a refusal is an error status.
    return this.encodedCall(
      "Ack",
      "ack",
      () => encodeAckRequest(req.result === undefined ? { jobId: req.jobId } : { jobId: req.jobId, result: req.result }),
      o,
    ).then(nothing);
  }

  nack(req: NackRequest, o: StandardCallOptions): Promise<NackResult> {
    return this.encodedCall("Nack", "nack", () => encodeNackRequest({ jobId: req.jobId, error: nackErrorForProto(req) }), o).then(decodeNackResponse);
  }

  async heartbeat(beat: JobBeat, o: StandardCallOptions): Promise<HeartbeatResponse> {
    const msg = create(HeartbeatRequestSchema, {
      id: beat.id,
      workerId: beat.workerId,
      currentState: workerStateToProto(beat.state),
      ...(beat.visibilityTimeoutMs ? { extendBy: durationFromMs(beat.visibilityTimeoutMs) } : {}),
    });
    return fromBinary(HeartbeatResponseSchema, await this.call("Heartbeat", toBinary(HeartbeatRequestSchema, msg), o));
  }

  private call(method: string, bytes: Uint8Array, o: StandardCallOptions): Promise<Uint8Array> {
    return this.wire.unary(SERVICE + method, bytes, o);
  }

  /** The call with the request `encode` makes; a request the codec refuses is a rejection. */
  private encodedCall(method: string, operation: string, encode: () => Uint8Array, o: StandardCallOptions): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = encoded(operation, encode);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.call(method, bytes, o);
  }
}

const enqueuedJob = (bytes: Uint8Array) => jobOf(bytes, "Enqueue");
const nothing = (): void => undefined;

function jobOf(bytes: Uint8Array, method: string): Job {
  const job = decodeJobResponse(bytes);
  if (!job) throw new OjsError(`the server answered ${method} without a job`, { code: "backend_error", operation: method });
  return job;
}

/** A request the codec refuses (a value nested past its bound, say) is the caller's mistake, said as such. */
function encoded(operation: string, encode: () => Uint8Array): Uint8Array {
  try {
    return encode();
  } catch (e) {
    throw new ValidationError(`${operation}: the request cannot be encoded: ${e instanceof Error ? e.message : String(e)}`, { operation, cause: e });
  }
}
