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

/** How the codec codes a set of Job fields through protobuf-es. */
export interface GenericJobFields {
  /** Whether the field of tag `t` (just read) is one of them. */
  has(t: number): boolean;
  /** The field of tag `t` (just read, value unread) appended to `into` as a field of its own, and skipped. */
  keep(r: Reader, t: number, into: number[] | undefined): number[];
  /** Sets on `j` what jobFromProto makes of the kept fields (the properties an empty Job would not have). */
  apply(j: Job, kept: number[]): void;
  /** Appends to a Job body the fields of the set jobToProto gives `j`. */
  write(w: Writer, j: Job): void;
}

/** The coding of the Job fields numbered `numbers` (exported for the test; the codec uses GENERIC_JOB_FIELDS). */
export function genericJobFields(numbers: readonly number[]): GenericJobFields {
  const generic = new Set(numbers);
  const others = JobSchema.fields.filter((f) => !generic.has(f.number));
  return {
    has: (t) => generic.has(t >>> 3),
    keep(r, t, into) {
      const out = into ?? [];
      // The tag written again (minimally), then the value's bytes as they came.
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
    },
    apply(j, kept) {
      const full = jobFromProto(fromBinary(JobSchema, Uint8Array.from(kept))) as unknown as Record<string, unknown>;
      const empty = jobFromProto(create(JobSchema)) as unknown as Record<string, unknown>;
      const out = j as unknown as Record<string, unknown>;
      for (const k of Object.keys(full)) {
        if (!(k in empty) || JSON.stringify(full[k]) !== JSON.stringify(empty[k])) out[k] = full[k];
      }
    },
    write(w, j) {
      const p = jobToProto(j);
      for (const f of others) clearField(p, f);
      const bytes = toBinary(JobSchema, p);
      w.ensure(bytes.length);
      w.buf.set(bytes, w.pos);
      w.pos += bytes.length;
    },
  };
}

/** The Job fields job.ts does not name. */
export const GENERIC_JOB_FIELDS: GenericJobFields = genericJobFields(JOB_GENERIC_FIELDS);
