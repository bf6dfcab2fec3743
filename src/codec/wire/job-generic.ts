/**
 * The ojs.v1.Job fields job.ts does not code by hand, coded through protobuf-es
 * and the conversions of ../proto.ts: a field added to job.proto, to the model and
 * to jobToProto/jobFromProto travels over the wire codec with no code here (see
 * the checklist in README.md). Which fields those are is generated
 * (JOB_GENERIC_FIELDS, scripts/wire-tags.ts); with none, as today, a Job costs one
 * constant branch each way.
 *
 * Bytes: protobuf-es writes a message's fields in field-number order and a new
 * field takes the next number, so appending these after the hand-written fields
 * gives what toBinary(JobSchema, jobToProto(job)) gives.
 */
import { clearField, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { JobSchema } from "../../../gen/ojs/v1/job_pb.js";
import type { Job } from "../../model/job.js";
import { jobFromProto, jobToProto } from "../proto.js";
import type { Writer } from "./buffer.js";
import type { Reader } from "./reader.js";
import { JOB_GENERIC_FIELDS } from "./tags.generated.js";

/** Whether any Job field goes through this module (a constant: the branches on it fold away). */
export const HAS_GENERIC_JOB_FIELDS = JOB_GENERIC_FIELDS.length > 0;

const generic = new Set(JOB_GENERIC_FIELDS);
const handCoded = JobSchema.fields.filter((f) => !generic.has(f.number));

/** Whether the field of tag `t` (just read) is one of them. */
export function isGenericJobField(t: number): boolean {
  return generic.has(t >>> 3);
}

/**
 * The field of tag `t` (just read, value still unread) copied to `into` as a
 * field of its own (its tag written again, minimally), and skipped.
 */
export function keepGenericJobField(r: Reader, t: number, into: number[] | undefined): number[] {
  const out = into ?? [];
  for (let v = t; ; v >>>= 7) {
    if (v < 0x80) {
      out.push(v);
      break;
    }
    out.push((v & 0x7f) | 0x80);
  }
  const from = r.pos;
  r.skip(t);
  for (let i = from; i < r.pos; i++) out.push(r.buf[i]!);
  return out;
}

/** Sets on `j` what jobFromProto makes of the kept fields (the properties an empty Job would not have). */
export function applyGenericJobFields(j: Job, bytes: number[]): void {
  const full = jobFromProto(fromBinary(JobSchema, Uint8Array.from(bytes))) as unknown as Record<string, unknown>;
  const empty = jobFromProto(create(JobSchema)) as unknown as Record<string, unknown>;
  const out = j as unknown as Record<string, unknown>;
  for (const k of Object.keys(full)) {
    if (!(k in empty) || JSON.stringify(full[k]) !== JSON.stringify(empty[k])) out[k] = full[k];
  }
}

/** Appends to a Job body the fields jobToProto gives `j` that job.ts does not write. */
export function writeGenericJobFields(w: Writer, j: Job): void {
  const p = jobToProto(j);
  for (const f of handCoded) clearField(p, f);
  const bytes = toBinary(JobSchema, p);
  w.ensure(bytes.length);
  w.buf.set(bytes, w.pos);
  w.pos += bytes.length;
}
