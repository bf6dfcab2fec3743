// The graceful-stop hand-back suite, unchanged, against the durable journal store (a temporary data dir).
import { useStore } from "../helpers.js";

useStore("journal");
await import("./worker-stop-handback.test.js");
