import { deepStrictEqual } from "node:assert/strict";
import { parseConfigText } from "./config_file.ts";

Deno.test("parseConfigText(): directives in order, comment lines and blanks skipped", () => {
  deepStrictEqual(
    parseConfigText("# a comment\n\n  listen.tcp 0.0.0.0:6969\r\ntracker.user\t nobody  \nbare\n"),
    [
      { key: "listen.tcp", value: "0.0.0.0:6969", line: 3 },
      { key: "tracker.user", value: "nobody", line: 4 },
      { key: "bare", value: "", line: 5 },
    ],
  );
});

Deno.test("parseConfigText(): a comment after a value ends it, on every key alike", () => {
  deepStrictEqual(
    parseConfigText(
      "livesync.cluster.node_ip 10.0.0.0/24      # only these nets may send sync packets\n" +
        "listen.tcp 0.0.0.0:6969 # all IPv4\n" +
        "tracker.user nobody\t# the service user\n" +
        "access.whitelist /srv/list#2 # '#' inside a word stays\n" +
        "   # an indented comment line\n" +
        "tracker.rootdir # only a comment: the value is missing\n",
    ),
    [
      { key: "livesync.cluster.node_ip", value: "10.0.0.0/24", line: 1 },
      { key: "listen.tcp", value: "0.0.0.0:6969", line: 2 },
      { key: "tracker.user", value: "nobody", line: 3 },
      { key: "access.whitelist", value: "/srv/list#2", line: 4 },
      { key: "tracker.rootdir", value: "", line: 6 },
    ],
  );
});
