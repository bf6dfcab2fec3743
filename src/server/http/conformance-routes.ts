/**
 * The reset route the official conformance runner calls between cases
 * (`-reset-url .../ojs/v1/admin/reset`, a bare POST). It exists only for test
 * harnesses: it answers 404 unless the server runs with conformance hooks
 * (`conformanceHooks: true`, `serve --conformance`), and needs the admin role.
 */
import { NotFoundError } from "../../model/errors.js";
import type { ServerCore } from "../core.js";
import type { HttpRouter } from "./router.js";

export const RESET_PATH = "/ojs/v1/admin/reset";

export function registerConformanceRoutes(core: ServerCore, router: HttpRouter): void {
  router.on("POST", RESET_PATH, () => {
    if (!core.conformanceHooks)
      throw new NotFoundError(`${RESET_PATH} is served only with conformance hooks on (serve --conformance, startServer({ conformanceHooks: true }))`);
    core.reset();
    return { status: 200, body: { status: "reset" } };
  });
}
