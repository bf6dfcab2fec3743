/**
 * JSON values for property tests: `scalar` at the leaves, arrays and objects
 * of up to `width` entries keyed by `key` above them, shallow by default
 * (fast-check's "small" depth). Each suite brings the scalars and keys its
 * codec must carry (lone surrogates, -0, NaN...).
 */
import fc from "fast-check";
import type { JsonValue } from "../../src/model/json.js";

export function jsonValues(scalar: fc.Arbitrary<JsonValue>, key: fc.Arbitrary<string>, width = 5): fc.Arbitrary<JsonValue> {
  const { value } = fc.letrec<{ value: JsonValue }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      scalar,
      fc.array(tie("value"), { maxLength: width }),
      fc.dictionary(key, tie("value"), { maxKeys: width }),
    ),
  }));
  return value;
}
