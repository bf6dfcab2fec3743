// ESLint (flat config) with typescript-eslint's recommended rules, minus the few
// the code base deliberately does otherwise (each says why). Formatting is
// Prettier's job (npm run format:check), not ESLint's.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "gen/**", "node_modules/**", "bench/results/**", "ui/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.mjs", "**/*.js"],
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
        clearImmediate: "readonly",
        queueMicrotask: "readonly",
        structuredClone: "readonly",
        URL: "readonly",
        URLSearchParams: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        fetch: "readonly",
        performance: "readonly",
        NodeJS: "readonly",
        globalThis: "readonly",
        document: "readonly",
        window: "readonly",
      },
    },
    rules: {
      // Unused names are allowed when they say so with a leading underscore (destructuring to drop a key).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", destructuredArrayIgnorePattern: "^_" }],
      // The hand-written codec resets cursors and scratch values on purpose (clearer than tracking
      // which branch still reads them), and V8 does not care.
      "no-useless-assignment": "off",
      // Regular expressions that spell out "-" inside a class escaped, for the reader.
      "no-useless-escape": "off",
    },
  },
  {
    // Tests, benchmarks and scripts: `any` in deliberately malformed input, generators that
    // only stall, ANSI escapes in output parsing, short-circuit expressions as statements.
    files: ["test/**", "bench/**", "scripts/**", "conformance/**", "examples/**"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "require-yield": "off",
      "no-control-regex": "off",
      "@typescript-eslint/no-unused-expressions": "off",
      "@typescript-eslint/no-unused-vars": "off",
      "prefer-const": "off",
    },
  },
  // A promise nobody awaits or catches is how one request's failure reaches the process (an
  // unhandled rejection): in src/ every promise is awaited, returned, caught or marked `void`.
  {
    files: ["src/**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
    },
  },
);
