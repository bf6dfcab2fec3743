/**
 * The server's credentials: API keys (sent as a bearer token or an API-key
 * header) and client-certificate rules, each with roles. They come from
 * `startServer({ auth })`, from an auth file (JSON, see README "Running in
 * production"), or from one admin token (`serve --auth-token`,
 * OJS_SERVER_TOKEN). Keys are kept only as SHA-256 digests and compared in
 * constant time, so neither the length of a match nor its position in the
 * list shows in the response time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { ROLES, type Role } from "./roles.js";
import { ValidationError } from "../../model/errors.js";
import { TENANT_ID_PATTERN } from "../tenancy/request.js";

/** One API key: the secret (or its SHA-256 in hex) and what it may do. */
export interface AuthKey {
  /** Shown in errors and logs instead of the secret, e.g. "billing-producer". */
  name?: string;
  /** The secret as clients send it (`Authorization: Bearer <token>` or `X-OJS-API-Key: <token>`). */
  token?: string;
  /** Instead of `token`: the hex SHA-256 of it, so the file holds no secret. */
  sha256?: string;
  /** One role or several; see README for what each may call. */
  role?: Role;
  roles?: Role[];
  /** Multi-tenancy: the tenant every call with this key acts for; it cannot act as another (403). */
  tenant?: string;
}

/** Client certificates (mTLS) whose common name or a subject alternative name is `subject` get the roles. */
export interface CertificateRule {
  subject: string;
  role?: Role;
  roles?: Role[];
}

/** Where the server's keys come from: one admin token, keys with roles, or an auth file; and whether /metrics is open. */
export interface AuthOptions {
  /** One admin token: what `serve --auth-token` and OJS_SERVER_TOKEN set. */
  token?: string;
  /** API keys with roles. */
  keys?: AuthKey[];
  /** Roles for client certificates (needs `tls.ca`). */
  clientCertificates?: CertificateRule[];
  /** A JSON auth file with `keys`, `clientCertificates` and `publicMetrics`, read once at start. */
  file?: string;
  /** Let `/metrics` answer without credentials (default false: any role may read it). */
  publicMetrics?: boolean;
}

interface KeyEntry {
  name: string;
  digest: Buffer;
  roles: Role[];
  tenant?: string;
}

export interface Principal {
  /** The key's or certificate's name, for error messages. */
  name: string;
  roles: Role[];
  /** The tenant the key is bound to (multi-tenancy), if any. */
  tenant?: string;
}

/** Resolved credentials: digests of keys and the certificate rules. */
export class KeyRing {
  private constructor(
    private readonly keys: KeyEntry[],
    private readonly certRules: Array<{ subject: string; roles: Role[] }>,
    readonly publicMetrics: boolean,
  ) {}

  /** Null without auth options (auth is off); throws for options that name no credentials. */
  static from(opts: AuthOptions | undefined): KeyRing | null {
    if (!opts) return null;
    const merged: AuthOptions = { ...opts };
    if (opts.file) {
      const fromFile = readAuthFile(opts.file);
      merged.keys = [...(opts.keys ?? []), ...(fromFile.keys ?? [])];
      merged.clientCertificates = [...(opts.clientCertificates ?? []), ...(fromFile.clientCertificates ?? [])];
      merged.publicMetrics = opts.publicMetrics ?? fromFile.publicMetrics;
    }
    const where = opts.file ? `auth file ${opts.file}` : "auth";
    const keys: KeyEntry[] = [];
    if (merged.token !== undefined) keys.push(entry({ name: "admin token", token: merged.token, role: "admin" }, `${where}: token`));
    (merged.keys ?? []).forEach((k, i) => keys.push(entry(k, `${where}: keys[${i}]`)));
    const seen = new Set<string>();
    for (const k of keys) {
      const hex = k.digest.toString("hex");
      if (seen.has(hex)) throw new ValidationError(`${where}: key "${k.name}" appears twice; give each key one entry with all its roles`);
      seen.add(hex);
    }
    const certRules = (merged.clientCertificates ?? []).map((c, i) => {
      const at = `${where}: clientCertificates[${i}]`;
      if (typeof c?.subject !== "string" || c.subject === "")
        throw new ValidationError(`${at}: subject must be the certificate's CN or a subject alternative name`);
      return { subject: c.subject, roles: rolesOf(c, at) };
    });
    // Given but empty (an unset variable behind `token`, an empty list) is a mistake: fail closed, not open.
    if (keys.length === 0 && certRules.length === 0) throw new ValidationError(`${where}: no token, keys or clientCertificates: the server would admit no one`);
    return new KeyRing(keys, certRules, merged.publicMetrics ?? false);
  }

  get hasCertificateRules(): boolean {
    return this.certRules.length > 0;
  }

  /** The key a presented secret matches, checking every key in constant time. */
  matchKey(secret: string): Principal | undefined {
    const digest = sha256(secret);
    let found: KeyEntry | undefined;
    for (const k of this.keys) if (timingSafeEqual(digest, k.digest) && !found) found = k;
    return found && { name: found.name, roles: found.roles, ...(found.tenant !== undefined ? { tenant: found.tenant } : {}) };
  }

  /** The roles of a client certificate, from every rule one of its names matches. */
  matchCertificate(names: readonly string[]): Principal | undefined {
    const roles = new Set<Role>();
    let name: string | undefined;
    for (const r of this.certRules) {
      if (!names.includes(r.subject)) continue;
      name ??= r.subject;
      for (const role of r.roles) roles.add(role);
    }
    return name === undefined ? undefined : { name: `certificate ${name}`, roles: [...roles] };
  }
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

function entry(k: AuthKey, at: string): KeyEntry {
  if (k === null || typeof k !== "object") throw new ValidationError(`${at}: must be an object with token (or sha256) and role`);
  const roles = rolesOf(k, at);
  let digest: Buffer;
  if (typeof k.token === "string" && k.token !== "") {
    if (k.sha256 !== undefined) throw new ValidationError(`${at}: give token or sha256, not both`);
    if (/\s/.test(k.token)) throw new ValidationError(`${at}: a token cannot contain whitespace`);
    digest = sha256(k.token);
  } else if (typeof k.sha256 === "string" && /^[0-9a-fA-F]{64}$/.test(k.sha256)) {
    digest = Buffer.from(k.sha256, "hex");
  } else {
    throw new ValidationError(`${at}: needs token (a non-empty string) or sha256 (64 hex digits)`);
  }
  if (k.tenant !== undefined && (typeof k.tenant !== "string" || !TENANT_ID_PATTERN.test(k.tenant)))
    throw new ValidationError(`${at}: tenant must be a tenant id (letters, digits, . _ : -)`);
  return {
    name: typeof k.name === "string" && k.name ? k.name : at.replace(/^.*: /, ""),
    digest,
    roles,
    ...(k.tenant !== undefined ? { tenant: k.tenant } : {}),
  };
}

function rolesOf(o: { role?: unknown; roles?: unknown }, at: string): Role[] {
  const list = o.roles !== undefined ? o.roles : o.role !== undefined ? [o.role] : undefined;
  if (!Array.isArray(list) || list.length === 0) throw new ValidationError(`${at}: needs role or roles (${ROLES.join(", ")})`);
  for (const r of list) if (!ROLES.includes(r as Role)) throw new ValidationError(`${at}: unknown role ${JSON.stringify(r)}; roles are ${ROLES.join(", ")}`);
  return [...new Set(list as Role[])];
}

/** Reads and shape-checks an auth file; errors name the file and the field. */
export function readAuthFile(path: string): Pick<AuthOptions, "keys" | "clientCertificates" | "publicMetrics"> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ValidationError(`auth file ${path}: cannot read it: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ValidationError(`auth file ${path}: not valid JSON: ${(e as Error).message}`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new ValidationError(`auth file ${path}: must be a JSON object with "keys"`);
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!["keys", "clientCertificates", "publicMetrics"].includes(k))
      throw new ValidationError(`auth file ${path}: unknown field "${k}" (known: keys, clientCertificates, publicMetrics)`);
  }
  if (o.keys !== undefined && !Array.isArray(o.keys)) throw new ValidationError(`auth file ${path}: "keys" must be an array`);
  if (o.clientCertificates !== undefined && !Array.isArray(o.clientCertificates))
    throw new ValidationError(`auth file ${path}: "clientCertificates" must be an array`);
  if (o.publicMetrics !== undefined && typeof o.publicMetrics !== "boolean")
    throw new ValidationError(`auth file ${path}: "publicMetrics" must be true or false`);
  const out: Pick<AuthOptions, "keys" | "clientCertificates" | "publicMetrics"> = {};
  if (o.keys) out.keys = o.keys as AuthKey[];
  if (o.clientCertificates) out.clientCertificates = o.clientCertificates as CertificateRule[];
  if (o.publicMetrics !== undefined) out.publicMetrics = o.publicMetrics;
  return out;
}
