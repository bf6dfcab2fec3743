/**
 * Schema registration on PostgreSQL. The adapters register, list and validate
 * through the in-process SchemaRegistry (../schemas.ts, the same validation
 * code as every store); with this store it mirrors ojs_schemas: each change it
 * reports is written to the table before the request is answered (durable()),
 * and the schemas registered through other servers come in on every
 * maintenance pass (refresh()). A version registered on two servers at once
 * is kept once: the second insert finds it and answers `duplicate`.
 */
import type { Sql } from "postgres";
import { ConflictError } from "../../../model/errors.js";
import type { JsonObject, JsonValue } from "../../../model/json.js";
import type { SchemaRecord, SchemaRegistry, SchemaVersion } from "../schemas.js";
import { WriteChain } from "./write-chain.js";

interface SchemaRow {
  type: string;
  version: string;
  body: JsonObject;
  given_version: SchemaVersion | null;
  created_at: Date;
}

export class SchemaMirror {
  private readonly writes = new WriteChain();

  constructor(
    private readonly sql: Sql,
    private readonly schemas: SchemaRegistry,
  ) {
    schemas.onChange = (type, version) => this.changed(type, version);
  }

  durable(): Promise<void> | undefined {
    return this.writes.durable();
  }

  private changed(type: string, version: SchemaVersion): void {
    const rec = this.schemas.peek(type, version);
    this.writes.push(() => (rec ? this.save(rec) : this.remove(type, version)));
  }

  private async save(r: SchemaRecord): Promise<void> {
    const res = await this.sql`
      INSERT INTO ojs_schemas (type, version, body, given_version, created_at)
      VALUES (${r.type}, ${String(r.version)}, ${this.sql.json(r.schema as JsonValue)}, ${this.sql.json(r.version as JsonValue)}, ${r.createdAt})
      ON CONFLICT (type, version) DO NOTHING`;
    if (res.count === 0) throw new ConflictError(`schema ${r.type} version ${String(r.version)} is already registered`, { code: "duplicate" });
  }

  private async remove(type: string, version: SchemaVersion): Promise<void> {
    await this.sql`DELETE FROM ojs_schemas WHERE type = ${type} AND version = ${String(version)}`;
  }

  /** Brings the registry up to the table. Skipped while local writes are pending. */
  async refresh(): Promise<void> {
    if (this.writes.busy) return;
    const gen = this.writes.generation;
    const rows = await this.sql<SchemaRow[]>`SELECT type, version, body, given_version, created_at FROM ojs_schemas ORDER BY type, version LIMIT 100000`;
    if (gen !== this.writes.generation || this.writes.busy) return;
    const onChange = this.schemas.onChange;
    this.schemas.onChange = undefined;
    // Synchronous from clear() to the last register(): no request sees the registry half filled.
    try {
      this.schemas.clear();
      for (const r of rows) this.schemas.register(r.type, r.given_version ?? r.version, r.body, r.created_at);
    } finally {
      this.schemas.onChange = onChange;
    }
  }
}
