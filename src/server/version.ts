/** Version of this package, reported in manifests and response headers. */
export const PACKAGE_VERSION = "0.1.0";
export const SPEC_VERSION = "1.0";
