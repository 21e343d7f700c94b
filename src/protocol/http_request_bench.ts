import { AnnounceRequest } from "../types.ts";
import { HttpRequestParser } from "./http_request.ts";

const parser = new HttpRequestParser();
const req = new AnnounceRequest();
const target = Uint8Array.from(
  "/announce?info_hash=%8f%a4%12%00%ff%3e%11%9a%c0%de%9f%01%02%03%04%05%06%07%08%09" +
    "&peer_id=-qB4520-k8hj3Lx9Ap0u&port=51413&uploaded=0&downloaded=0&left=1234567&corrupt=0" +
    "&key=6E1A7B32&event=started&numwant=50&compact=1&no_peer_id=1&supportcrypto=1&redundant=0",
  (c) => c.charCodeAt(0),
);

Deno.bench("HttpRequestParser: route + parseAnnounce of a qBittorrent announce", () => {
  parser.route(target, 0);
  parser.parseAnnounce(req);
});
