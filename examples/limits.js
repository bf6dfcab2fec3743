// Limits: what a job may carry, checked by the client before anything is sent and by the
// server on both bindings, with an error that names the limit (docs/limits.md).
import { Client, DEFAULT_LIMITS, ValidationError } from "ojs-connect";

console.log("defaults:", DEFAULT_LIMITS);

// Give the client the limits of the server it talks to; here a stricter args limit.
const client = new Client({ limits: { maxArgsBytes: 64 * 1024 } });

let deep = ["leaf"];
for (let i = 0; i < 100; i++) deep = [deep];

for (const args of [deep, ["x".repeat(100 * 1024)]]) {
  try {
    await client.enqueue("report.build", args);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    console.log(`refused before sending (${e.code}, retryable: ${e.retryable}):`, e.message, e.details);
  }
}

// A client that lets deep values through: the server refuses them the same way.
const lenient = new Client({ limits: { maxDepth: 256 } });
try {
  await lenient.enqueue("report.build", deep);
} catch (e) {
  if (!(e instanceof ValidationError)) throw e;
  console.log(`refused by the server (${e.code}):`, e.message);
}

await client.close();
await lenient.close();
