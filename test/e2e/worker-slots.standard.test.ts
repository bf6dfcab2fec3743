// The worker-slot suite, unchanged, against a server with its fast path off: the gRPC transport uses the standard ojs.v1 methods.
import { useServerOptions } from "../helpers.js";

useServerOptions({ fastPath: false });
await import("./worker-slots.test.js");
