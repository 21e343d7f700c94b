import { strictEqual } from "node:assert/strict";
import { acceptsGzip } from "./accept_encoding.ts";

Deno.test("acceptsGzip() parses Accept-Encoding instead of searching for a substring", () => {
  const cases: [string | null, boolean][] = [
    [null, false],
    ["gzip", true],
    ["deflate, gzip;q=0.5", true],
    ["GZIP", true],
    ["x-gzip", true],
    ["gzip;q=0", false],
    ["gzip;q=0.000", false],
    ["*", true],
    ["*;q=0", false],
    ["br, deflate", false],
    ["identity", false],
    ["gzipped", false],
    ["*, gzip;q=0", false],
  ];
  for (const [header, expected] of cases) strictEqual(acceptsGzip(header), expected, `${header}`);
});
