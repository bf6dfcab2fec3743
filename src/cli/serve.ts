/** `ojs-connect serve`: the embedded server in the foreground until SIGINT or SIGTERM. */
import type { Command } from "commander";
import { startServer } from "../server/server.js";
import { run, UsageError, type Ctx } from "./output.js";
import { addServeFlags, serveOptionsFrom } from "./serve-flags.js";

export function serveCommand(program: Command, ctx: Ctx): void {
  const { io } = ctx;
  const cmd = program
    .command("serve")
    .summary("run the embedded OJS server")
    .description("Starts the embedded OJS server: gRPC, Connect and the OJS HTTP/JSON binding on one port.\nMemory only: for development, tests and demos.");
  addServeFlags(cmd).action(
    run(ctx, async (values: Record<string, unknown>) => {
      let opts;
      try {
        opts = serveOptionsFrom(values, ctx.env);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const server = await startServer(opts);
      const guard = opts.auth ? "auth on" : opts.tls?.caFile ? "client certificates required" : "no auth";
      const extra = opts.conformanceHooks ? `; conformance hooks on, reset with POST ${server.url}/ojs/v1/admin/reset` : "";
      io.out(`ojs-connect server listening on ${server.url} (gRPC, Connect and HTTP/JSON; ${opts.tls ? "TLS" : "cleartext"}, ${guard}${extra})`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          io.out("shutting down");
          void server.close().then(resolve);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    }),
  );
}
