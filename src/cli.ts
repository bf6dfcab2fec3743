/**
 * The `ojs-connect` command line: one module per command (or group) under
 * ./cli, a shared client factory (./cli/connect.ts) and output (./cli/output.ts).
 * Exit codes: 0 ok, 1 operation or job failed, 2 usage, 3 server unreachable.
 */
import { Command, CommanderError } from "commander";
import { PACKAGE_VERSION } from "./server/version.js";
import { cleanCommands } from "./cli/clean.js";
import { cronCommands } from "./cli/cron.js";
import { dlqCommands } from "./cli/dlq.js";
import { eventsCommand } from "./cli/events.js";
import { jobCommands } from "./cli/jobs.js";
import { EXIT, processIo, type Ctx, type Io } from "./cli/output.js";
import { queueCommands } from "./cli/queues.js";
import { serveCommand } from "./cli/serve.js";
import { waitCommand } from "./cli/wait.js";
import { workflowCommands } from "./cli/workflow.js";

export { serveOptions } from "./cli/serve-flags.js";

const EXIT_CODES_HELP = `
Exit codes: 0 ok; 1 the operation failed (the server refused it, or for wait the job was
cancelled or discarded); 2 usage error (nothing was sent); 3 the server cannot be reached.
Connection: --url (OJS_URL), --transport grpc|http (OJS_TRANSPORT), --token (OJS_AUTH_TOKEN).`;

/** The program with every command; settings given before `.command()` are inherited by all of them. */
export function program(ctx: Ctx): Command {
  const p = new Command("ojs-connect")
    .description("Open Job Spec from the command line: run the embedded server, enqueue and inspect jobs, operate queues.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.out(s.replace(/\n$/, "")), writeErr: (s) => ctx.io.err(s.replace(/\n$/, "")) })
    .showHelpAfterError()
    .version(PACKAGE_VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help for the command")
    .addHelpText("after", EXIT_CODES_HELP);
  serveCommand(p, ctx);
  jobCommands(p, ctx);
  waitCommand(p, ctx);
  queueCommands(p, ctx);
  dlqCommands(p, ctx);
  cleanCommands(p, ctx);
  cronCommands(p, ctx);
  workflowCommands(p, ctx);
  eventsCommand(p, ctx);
  // --version on every command and subcommand, as on the program.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const c of all(p)) if (c !== p) c.version(PACKAGE_VERSION, "-V, --version", "print the version");
  return p;
}

/** Runs the command line; resolves with the exit code (also set on process.exitCode). */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const ctx: Ctx = { io, env, exit: (c) => void (code = Math.max(code, c)) };
  const p = program(ctx);
  if (argv.length === 0) {
    io.out(p.helpInformation().trimEnd());
    return (process.exitCode = EXIT.usage);
  }
  try {
    await p.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // Help and version end with code 0; every parse error is a usage error.
    code = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  process.exitCode = code;
  return code;
}
