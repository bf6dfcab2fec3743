/**
 * The codec chain of a Client or Worker (ojs-encryption.md §5, §8): encodes a
 * job's args into one marked element and records the encodings and codec meta
 * in the job's meta; decodes them back before a handler runs; does the same for
 * a handler's result. Codecs encode in the order given and decode in reverse,
 * each chosen by the name the payload records.
 */
import { canonicalJson } from "../../server/store/unique.js";
import type { Job, NormalizedJobRequest } from "../../model/job.js";
import type { StepDefinition, WorkflowDefinition } from "../../model/workflow.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../model/json.js";
import { CodecError } from "./errors.js";
import { CODEC_META_PREFIX, META_ENCODINGS, META_UNIQUE_ARGS, type EncodedPayload, type PayloadCodec } from "./types.js";

/** Whether a value is an encoded payload (ENC §5.2): `{ ojs_encoded: true, data: "<base64>" }`. */
export function isEncodedPayload(v: unknown): v is EncodedPayload & JsonObject {
  return isJsonObject(v) && v.ojs_encoded === true && typeof v.data === "string";
}

/**
 * An ordered list of payload codecs, as a Client or Worker uses it. Public for
 * tools that hold keys and need to read jobs by hand (a script, a codec server).
 *
 * ```ts
 * const chain = new CodecChain([new GzipCodec(), new AesGcmCodec({ keys, currentKeyId })]);
 * const plain = await chain.decodeJob(await client.getJob(id));
 * ```
 */
export class CodecChain {
  private readonly codecs: readonly PayloadCodec[];
  private readonly byName = new Map<string, PayloadCodec>();
  private readonly fingerprinter: PayloadCodec | undefined;

  constructor(codecs: readonly PayloadCodec[]) {
    if (!Array.isArray(codecs)) throw new CodecError("codec_invalid_config", "codecs: must be an array of payload codecs");
    for (const [i, c] of codecs.entries()) {
      if (typeof c !== "object" || c === null || typeof c.encode !== "function" || typeof c.decode !== "function")
        throw new CodecError("codec_invalid_config", `codecs[${i}]: must have encode() and decode()`);
      if (typeof c.encoding !== "string" || c.encoding === "" || c.encoding.length > 128)
        throw new CodecError("codec_invalid_config", `codecs[${i}]: encoding must be a name of 1 to 128 characters`);
      if (this.byName.has(c.encoding)) throw new CodecError("codec_invalid_config", `codecs[${i}]: two codecs named ${JSON.stringify(c.encoding)}`);
      this.byName.set(c.encoding, c);
    }
    this.codecs = [...codecs];
    this.fingerprinter = [...codecs].reverse().find((c) => typeof c.fingerprint === "function");
  }

  /** The codecs' encoding names, in encoding order. */
  get encodings(): string[] {
    return this.codecs.map((c) => c.encoding);
  }

  /**
   * Encodes a value: the marked payload and the meta entries to record, or
   * undefined when every codec left it as it was (nothing to record then).
   */
  async encodeValue(value: JsonValue): Promise<{ payload: EncodedPayload; meta: JsonObject } | undefined> {
    let data: Uint8Array = Buffer.from(JSON.stringify(value), "utf8");
    const applied: string[] = [];
    const meta: JsonObject = {};
    for (const codec of this.codecs) {
      const out = await codec.encode(data);
      if (!out || !(out.data instanceof Uint8Array))
        throw new CodecError("codec_invalid_config", `codec ${JSON.stringify(codec.encoding)}: encode() must return { data: Uint8Array }`);
      if (out.skipped) continue;
      data = out.data;
      applied.push(codec.encoding);
      for (const [k, v] of Object.entries(out.meta ?? {})) {
        if (!k.startsWith(CODEC_META_PREFIX) || k === META_ENCODINGS)
          throw new CodecError(
            "codec_invalid_config",
            `codec ${JSON.stringify(codec.encoding)}: meta key ${JSON.stringify(k)} must start with "${CODEC_META_PREFIX}" and not be ${META_ENCODINGS}`,
          );
        if (k in meta && JSON.stringify(meta[k]) !== JSON.stringify(v))
          throw new CodecError("codec_invalid_config", `two codecs set meta ${JSON.stringify(k)} differently`);
        meta[k] = v;
      }
    }
    if (applied.length === 0) return undefined;
    meta[META_ENCODINGS] = applied;
    const payload: EncodedPayload = { ojs_encoded: true, encoding: [...applied].reverse().join("+"), data: Buffer.from(data).toString("base64") };
    return { payload, meta };
  }

  /** Decodes a payload with the codec meta recorded with it (its `ojs.codec.encodings`, undone last first). */
  async decodeValue(payload: EncodedPayload, meta: Readonly<JsonObject>): Promise<JsonValue> {
    const encodings = meta[META_ENCODINGS];
    if (!Array.isArray(encodings) || encodings.length === 0 || !encodings.every((e) => typeof e === "string"))
      throw new CodecError("codec_invalid_payload", `encoded payload without a ${META_ENCODINGS} list in its meta`);
    const codecs = (encodings as string[]).map((name) => {
      const c = this.byName.get(name);
      if (!c)
        throw new CodecError(
          "codec_unknown_encoding",
          `payload encoded with ${JSON.stringify(name)}, which no codec of this chain handles (have: ${this.encodings.join(", ") || "none"})`,
        );
      return c;
    });
    let data: Uint8Array = Buffer.from(payload.data, "base64");
    for (const codec of codecs.reverse()) {
      data = await codec.decode(data, meta);
      if (!(data instanceof Uint8Array))
        throw new CodecError("codec_invalid_config", `codec ${JSON.stringify(codec.encoding)}: decode() must return a Uint8Array`);
    }
    try {
      return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8")) as JsonValue;
    } catch {
      throw new CodecError("codec_invalid_payload", "decoded payload is not JSON");
    }
  }

  /**
   * A request with its args encoded and the codec meta added. Args already
   * encoded (a job read back and enqueued again) are sent as they are. A unique
   * policy over args is kept working with the codec's fingerprint (ENC §15.3).
   */
  async encodeRequest(req: NormalizedJobRequest): Promise<NormalizedJobRequest> {
    if (req.args.length === 1 && isEncodedPayload(req.args[0])) return req;
    for (const k of Object.keys(req.meta ?? {}))
      if (k.startsWith(CODEC_META_PREFIX))
        throw new CodecError("codec_invalid_config", `meta ${JSON.stringify(k)} is reserved for codecs: a job with plain args cannot carry it`);
    const encoded = await this.encodeValue(req.args);
    if (!encoded) return req;
    const meta: JsonObject = { ...(req.meta ?? {}), ...encoded.meta };
    const out: NormalizedJobRequest = { ...req, args: [encoded.payload as unknown as JsonObject], meta };
    if (req.unique?.keys?.includes("args") && this.fingerprinter) {
      const first = req.args[0];
      const material = req.unique.argsKeys?.length && isJsonObject(first) ? pick(first, req.unique.argsKeys) : req.args;
      meta[META_UNIQUE_ARGS] = this.fingerprinter.fingerprint!(Buffer.from(canonicalJson(material), "utf8"));
      const keys = req.unique.keys.filter((k) => k !== "args");
      const metaKeys = keys.includes("meta") ? req.unique.metaKeys : undefined;
      out.unique = {
        ...req.unique,
        keys: [...new Set([...keys, "meta"])],
        // All of meta would include the random ciphertext's meta too: only the named keys and the fingerprint.
        metaKeys: [...(metaKeys ?? []), META_UNIQUE_ARGS],
      };
      delete out.unique.argsKeys;
    }
    return out;
  }

  /**
   * A workflow with every step's args encoded and the codec meta in the
   * step's options.meta. Call it on a definition already validated
   * (flattenWorkflow bounds its depth).
   */
  async encodeWorkflow(def: WorkflowDefinition): Promise<WorkflowDefinition> {
    const steps: Array<StepDefinition | WorkflowDefinition> = [];
    for (const s of def.steps) steps.push("kind" in s ? await this.encodeWorkflow(s) : await this.encodeStep(s));
    if (def.kind !== "batch") return { ...def, steps };
    const callbacks: typeof def.callbacks = {};
    for (const k of ["onComplete", "onSuccess", "onFailure"] as const) {
      const cb = def.callbacks[k];
      if (cb) callbacks[k] = await this.encodeStep(cb);
    }
    return { ...def, steps, callbacks };
  }

  private async encodeStep(s: StepDefinition): Promise<StepDefinition> {
    if (s.args.length === 1 && isEncodedPayload(s.args[0])) return s;
    const encoded = await this.encodeValue(s.args);
    if (!encoded) return s;
    return { ...s, args: [encoded.payload as unknown as JsonObject], options: { ...s.options, meta: { ...(s.options?.meta ?? {}), ...encoded.meta } } };
  }

  /** The job with its args, result and parent results decoded; the same object when nothing in it is encoded. */
  async decodeJob<J extends Job>(job: J): Promise<J> {
    let out = job;
    if (job.args.length === 1 && isEncodedPayload(job.args[0])) out = { ...out, args: await this.decodeArgs(job.args[0], job.meta) };
    if (isEncodedPayload(job.result)) out = { ...out, result: await this.decodeValue(job.result, resultMeta(job.result)) };
    if (job.parentResults && Object.values(job.parentResults).some(isEncodedPayload)) {
      const parents: JsonObject = {};
      for (const [k, v] of Object.entries(job.parentResults)) parents[k] = isEncodedPayload(v) ? await this.decodeValue(v, resultMeta(v)) : v;
      out = { ...out, parentResults: parents };
    }
    return out;
  }

  /** Encodes a handler's result; its codec meta travels inside it (`meta`), since a job's meta is fixed at enqueue. */
  async encodeResult(result: JsonValue | undefined): Promise<JsonValue | undefined> {
    if (result === undefined) return undefined;
    const encoded = await this.encodeValue(result);
    return encoded ? { ...encoded.payload, meta: encoded.meta } : result;
  }

  /** Decodes a result encodeResult() produced; a plain result comes back as it is. */
  async decodeResult(result: JsonValue | undefined): Promise<JsonValue | undefined> {
    if (!isEncodedPayload(result)) return result;
    return this.decodeValue(result, resultMeta(result));
  }

  private async decodeArgs(payload: EncodedPayload, meta: Readonly<JsonObject>): Promise<JsonValue[]> {
    const args = await this.decodeValue(payload, meta);
    if (!Array.isArray(args)) throw new CodecError("codec_invalid_payload", "decoded args are not an array");
    return args;
  }
}

function resultMeta(result: JsonObject): JsonObject {
  return isJsonObject(result.meta) ? result.meta : {};
}

function pick(o: JsonObject, keys: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of keys) if (k in o) out[k] = o[k]!;
  return out;
}
