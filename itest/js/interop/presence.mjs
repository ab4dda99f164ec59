#!/usr/bin/env node
// Connects real socket.io-client sockets to Switchboard edges for itest's
// presence test: one per "--client URL USER" (namespace /chat, auth
// {user}), each joins room "general" through the demo join handler. Prints
// one JSON line {"sids":[...]} once all are in, then stays connected until
// stdin closes, and disconnects them all.
import { io } from "socket.io-client";

const clients = [];
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === "--client") {
    clients.push({ url: process.argv[++i], user: process.argv[++i] });
  } else {
    console.error(`unknown argument ${process.argv[i]}`);
    process.exit(2);
  }
}
const timer = setTimeout(() => {
  console.error("timeout");
  process.exit(1);
}, 20000);
const sockets = await Promise.all(
  clients.map(
    ({ url, user }) =>
      new Promise((resolve, reject) => {
        const s = io(url + "/chat", { auth: { user }, reconnection: false, forceNew: true });
        s.on("connect_error", reject);
        s.on("connect", async () => {
          await s.emitWithAck("join", "general");
          resolve(s);
        });
      }),
  ),
);
clearTimeout(timer);
console.log(JSON.stringify({ sids: sockets.map((s) => s.id) }));
process.stdin.resume();
process.stdin.on("end", () => {
  for (const s of sockets) s.disconnect();
  setTimeout(() => process.exit(0), 100);
});
