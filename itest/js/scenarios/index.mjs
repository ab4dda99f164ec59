// The ordered list of scenarios run by run.mjs.
import transports from "./transports.mjs";
import acks from "./acks.mjs";
import binary from "./binary.mjs";
import rooms from "./rooms.mjs";
import lifecycle from "./lifecycle.mjs";
import namespaces from "./namespaces.mjs";
import recovery from "./recovery.mjs";
import http from "./http.mjs";

export const scenarios = [...transports, ...acks, ...binary, ...rooms, ...lifecycle, ...namespaces, ...recovery, ...http];

const seen = new Set();
for (const s of scenarios) {
  if (seen.has(s.name)) throw new Error(`duplicate scenario name ${s.name}`);
  seen.add(s.name);
}
