// The worker-slot suite, unchanged, against the durable journal store (a temporary data dir, fsync "always").
import { useStore } from "../helpers.js";

useStore("journal");
await import("./worker-slots.test.js");
