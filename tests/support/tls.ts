/** A self-signed certificate for 127.0.0.1, made with openssl for a test (`needs("openssl")`). */

import { strictEqual } from "node:assert/strict";

/** Writes `cert.pem` and `key.pem` (P-256, two days) into `dir`. */
export function makeCertificate(dir: string): void {
  const r = new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      // A leaf, not a CA: rustls (Deno's TLS client) refuses a CA certificate as the server's.
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  strictEqual(r.code, 0, new TextDecoder().decode(r.stderr));
}

/**
 * The base64 SHA-256 of the certificate's public key (SPKI): what Chromium's
 * `--ignore-certificate-errors-spki-list` names to trust exactly that key.
 */
export async function spkiHash(dir: string): Promise<string> {
  const pem = await Deno.readTextFile(`${dir}/cert.pem`);
  const pub = new Deno.Command("openssl", {
    args: ["x509", "-noout", "-pubkey"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = pub.stdin.getWriter();
  await w.write(new TextEncoder().encode(pem));
  await w.close();
  const pubPem = new TextDecoder().decode((await pub.output()).stdout);
  const der = Uint8Array.from(
    atob(pubPem.replace(/-----[^-]+-----/g, "").replace(/\s/g, "")),
    (c) => c.charCodeAt(0),
  );
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return btoa(String.fromCharCode(...digest));
}
