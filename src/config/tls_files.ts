/**
 * Reads the PEM certificate and key of the TLS listeners (`listen.tcp.tls_cert`,
 * `listen.tcp.tls_key`). Reading and a first check only: the TLS library judges the contents
 * when a listener is bound.
 */

/** A certificate chain and its key, PEM text. */
export interface TlsPair {
  readonly cert: string;
  readonly key: string;
}

/** Reads both files; throws an Error naming the setting and the file that cannot be used. */
export function readTlsPair(certFile: string, keyFile: string): TlsPair {
  const read = (path: string, key: string, marker: RegExp) => {
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch (error) {
      throw new Error(`${key} ${path}: ${error instanceof Error ? error.message : error}`);
    }
    if (!marker.test(text)) throw new Error(`${key} ${path}: not a PEM file (${marker.source})`);
    return text;
  };
  return {
    cert: read(certFile, "listen.tcp.tls_cert", /-----BEGIN CERTIFICATE-----/),
    key: read(keyFile, "listen.tcp.tls_key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  };
}
