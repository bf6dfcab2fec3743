// The graceful-stop hand-back suite, unchanged, against a server with its fast path off: the gRPC
// worker uses the standard ojs.v1 methods only, so the server hears of a started job from heartbeats.
import { useServerOptions } from "../helpers.js";

useServerOptions({ fastPath: false });
await import("./worker-stop-handback.test.js");
