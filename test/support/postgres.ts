/**
 * A private PostgreSQL cluster per test file: `initdb` into a temp directory,
 * a free port (never 5432), the unix socket in that directory, `pg_ctl start -w`,
 * one database; stopped and removed by stop() (call it in afterAll, it is safe
 * after a failed start). Never a shared instance.
 *
 * The binaries are looked for on PATH-like places: /usr/local/bin (a source
 * build) and /usr/lib/postgresql/<version>/bin (the Debian package `postgresql`,
 * which .ci/run installs). When they are missing, `findPostgresBinaries()`
 * says why, and the tests skip with that reason (see skipWithoutPostgres).
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import postgres from "postgres";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface PostgresBinaries {
  dir: string;
}

/** Where initdb, pg_ctl and postgres live, or the reason they cannot be used. */
export function findPostgresBinaries(): PostgresBinaries | { missing: string } {
  const candidates = ["/usr/local/bin"];
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(join(debian, v, "bin"));
  }
  for (const dir of candidates) {
    if (["initdb", "pg_ctl", "postgres"].every((b) => existsSync(join(dir, b)))) return { dir };
  }
  return { missing: `PostgreSQL binaries (initdb, pg_ctl, postgres) not found in ${candidates.join(", ")}: install the Debian package "postgresql"` };
}

/** The reason PostgreSQL tests skip on this machine, or undefined when they can run. Printed once per file. */
export function postgresSkipReason(): string | undefined {
  const found = findPostgresBinaries();
  let reason: string | undefined;
  if ("missing" in found) reason = found.missing;
  else if (userInfo().uid === 0 && clusterOwner() === undefined)
    reason = 'PostgreSQL tests run as root need a "postgres" system user to own the cluster (initdb refuses root)';
  if (reason) console.log(`skipping PostgreSQL tests: ${reason}`);
  return reason;
}

/**
 * initdb refuses to run as root. As root (containers), the cluster is run by
 * the "postgres" system user the Debian package creates, through runuser.
 */
function clusterOwner(): { name: string; uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  try {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith("postgres:"));
    if (!line) return undefined;
    const f = line.split(":");
    return { name: "postgres", uid: Number(f[2]), gid: Number(f[3]) };
  } catch {
    return undefined;
  }
}

export interface PostgresCluster {
  /** postgres://user@127.0.0.1:port/db */
  url: string;
  port: number;
  dir: string;
  /** The postmaster's pid (for CPU accounting in benchmarks). */
  pid(): number;
  /** A fresh database in the cluster, for tests that need an empty schema. */
  createDatabase(name: string): Promise<string>;
  /** Drops a database made by createDatabase, closing what is still connected to it. */
  dropDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => {
        const addr = s.address();
        s.close(() => resolve(typeof addr === "object" && addr ? addr.port : 0));
      });
    });
    if (port !== 5432 && port > 0) return port;
  }
}

/** Starts a private cluster. Throws with initdb's or pg_ctl's output when it cannot. */
export async function startPostgres(
  opts: {
    database?: string;
    /** fsync and synchronous commit on (benchmarks); off by default for quick tests. */
    durable?: boolean;
    /** More postgresql.conf lines, e.g. `shared_preload_libraries = 'pg_stat_statements'` (bench/pg-statements.ts). */
    settings?: readonly string[];
  } = {},
): Promise<PostgresCluster> {
  const bins = findPostgresBinaries();
  if ("missing" in bins) throw new Error(bins.missing);
  const owner = clusterOwner();
  const exec = (b: string, args: string[], timeout: number) =>
    owner ? run("/usr/sbin/runuser", ["-u", owner.name, "--", join(bins.dir, b), ...args], { timeout }) : run(join(bins.dir, b), args, { timeout });
  const dir = mkdtempSync(join(tmpdir(), "ojs-pg-"));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, "data");
  const user = owner?.name ?? userInfo().username;
  let started = false;
  const stop = async () => {
    if (started) {
      started = false;
      await exec("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w"], 30_000).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await exec("initdb", ["-D", data, "-U", user, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"], 120_000);
    const port = await freePort();
    // Small and quick: tests, not throughput. fsync off: a test cluster does not survive a power loss and need not.
    const conf = join(data, "postgresql.auto.conf");
    writeFileSync(
      conf,
      [
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${dir}'`,
        ...(opts.durable ? [] : ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]),
        // Room for the conformance run: up to 64 case servers at once, each with its pool and LISTEN connection.
        "max_connections = 400",
        "shared_buffers = 32MB",
        "log_min_messages = warning",
        ...(opts.settings ?? []),
        "",
      ].join("\n"),
    );
    if (owner) chownSync(conf, owner.uid, owner.gid);
    await exec("pg_ctl", ["start", "-D", data, "-w", "-t", "60", "-l", join(dir, "log")], 90_000);
    started = true;
    const base = `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}`;
    const admin = async (statement: string) => {
      const sql = postgres(`${base}/postgres`, { max: 1, onnotice: () => undefined });
      try {
        await sql.unsafe(statement);
      } finally {
        await sql.end({ timeout: 5 });
      }
    };
    const checkName = (name: string) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
    };
    const createDatabase = async (name: string) => {
      checkName(name);
      await admin(`CREATE DATABASE ${name}`);
      return `${base}/${name}`;
    };
    const dropDatabase = async (name: string) => {
      checkName(name);
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    };
    const database = opts.database ?? "ojs";
    const url = await createDatabase(database);
    const pid = () => Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    return { url, port, dir, pid, createDatabase, dropDatabase, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
