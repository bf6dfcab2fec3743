import { create, toBinary } from "@bufbuild/protobuf";
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import { StreamJobsRequestSchema } from "../../gen/ojs/v1/worker_pb.js";
import { FrameParser, frameMessage } from "../../src/transport/grpc/raw.js";

/**
 * A StreamJobs call made by hand and then abandoned: it reads the jobs the
 * server pushes (so they are received) but never starts, acks or nacks any.
 * What a worker that froze, crashed mid-read or was written carelessly looks
 * like to the server.
 */
export class AbandonedStream {
  received = 0;
  /** grpc-status the server ended the call with, once it did. */
  status: string | undefined;
  private readonly stream: ClientHttp2Stream;

  constructor(session: ClientHttp2Session, req: { queues: string[]; workerId: string; maxConcurrent?: number }) {
    this.stream = session.request({ ":method": "POST", ":path": "/ojs.v1.OJSService/StreamJobs", "content-type": "application/grpc+proto", te: "trailers" });
    const parser = new FrameParser();
    this.stream.on("data", (chunk: Buffer) => parser.push(chunk, () => this.received++));
    this.stream.on("response", (h) => {
      if (h["grpc-status"] !== undefined) this.status = String(h["grpc-status"]);
    });
    this.stream.on("trailers", (t) => (this.status = String(t["grpc-status"])));
    this.stream.on("error", () => undefined);
    this.stream.end(
      frameMessage(
        toBinary(
          StreamJobsRequestSchema,
          create(StreamJobsRequestSchema, { queues: req.queues, workerId: req.workerId, maxConcurrent: req.maxConcurrent ?? 0 }),
        ),
      ),
    );
  }

  get ended(): boolean {
    return this.status !== undefined;
  }
}

export function h2Session(url: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = connect(url);
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}
