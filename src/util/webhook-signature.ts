/**
 * Signing of webhook deliveries (ojs-webhooks.md §8.1): HMAC-SHA256 over
 * `timestamp + "." + body`, sent as `X-OJS-Signature: sha256=<hex>` beside
 * `X-OJS-Timestamp` (Unix seconds). Receivers verify with
 * {@link verifyWebhookSignature}.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The `X-OJS-Signature` value for a body sent at `timestamp` (Unix seconds): `sha256=<hex>`. */
export function signWebhook(secret: string, timestamp: number | string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** What {@link verifyWebhookSignature} needs beyond the secret. */
export interface WebhookSignatureInput {
  /** The raw request body, exactly as received (verify before parsing). */
  body: string;
  /** The `X-OJS-Signature` header; during a secret rotation it may hold several signatures separated by commas. */
  signature: string | undefined;
  /** The `X-OJS-Timestamp` header (Unix seconds). */
  timestamp: string | undefined;
  /** Largest accepted distance between the timestamp and now, in seconds; default 300 (§8.2). */
  toleranceSeconds?: number;
  /** Now, in milliseconds since the epoch; default Date.now(). */
  now?: number;
}

/**
 * Whether a delivery was signed with `secret` and is recent enough: a
 * constant-time comparison of every signature in the header against the
 * expected one, and the timestamp within the tolerance (replay protection).
 */
export function verifyWebhookSignature(secret: string, input: WebhookSignatureInput): boolean {
  const { body, signature, timestamp } = input;
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  const tolerance = input.toleranceSeconds ?? 300;
  const now = (input.now ?? Date.now()) / 1000;
  if (Math.abs(now - Number(timestamp)) > tolerance) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  return signature.split(",").some((s) => {
    const got = Buffer.from(s.trim());
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
