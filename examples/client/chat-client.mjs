// Two real socket.io-client 4.8 clients chatting through a Switchboard edge
// and the chat service (examples/chat in Go, or examples/node-service):
//
//   A connects to /chat and creates the room "general" (its ack: {id, status: "ok"});
//   a createRoom with an empty name is refused (ack {error: {code: "service_error", …}});
//   B connects and joins "general";
//   A sends message({room: "general", text: "hi"}): A and B both receive
//   "message" {room: "general", from: <A's id>, text: "hi", at};
//   B leaves "general", after which its messages to it are refused.
//
//   node examples/client/chat-client.mjs [--url http://127.0.0.1:3000] [--ns /chat]
//                                        [--room general] [--timeout 10000]
//
// --url is the edge's address (the "Socket.IO:" line of `switchboard dev`;
// a trailing /socket.io/ is ignored). Every observation is printed on stdout
// as one JSON line; the last line is {"ok":true} or {"ok":false,"error":…},
// and the exit code is 0 iff every check held.
//
// socket.io-client is not installed here: the script uses the copy pinned in
// itest/js (run `npm ci` there once). Copied elsewhere, it uses whatever
// `socket.io-client` resolves to from its own folder (`npm i socket.io-client`).
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    url: { type: "string", default: process.env.SWITCHBOARD_URL ?? "http://127.0.0.1:3000" },
    ns: { type: "string", default: "/chat" },
    room: { type: "string", default: "general" },
    timeout: { type: "string", default: "10000" },
  },
});
const url = opts.url.replace(/\/socket\.io\/?$/, "");
const timeout = Number(opts.timeout);

async function loadClient() {
  try {
    return createRequire(new URL("../../itest/js/package.json", import.meta.url))("socket.io-client");
  } catch (err) {
    if (err.code !== "MODULE_NOT_FOUND") throw err;
    return import("socket.io-client");
  }
}
const { io } = await loadClient();

const print = (o) => console.log(JSON.stringify(o));
const sockets = [];
const deadline = setTimeout(() => fail(new Error("the whole flow took longer than " + 4 * timeout + " ms")), 4 * timeout);

function fail(err) {
  for (const s of sockets) s.close();
  print({ ok: false, error: String(err?.message ?? err) });
  process.exit(1);
}

function check(cond, what, got) {
  if (!cond) throw new Error(`${what}; got ${JSON.stringify(got)}`);
}

// connect opens a socket on its own connection and resolves once connected.
function connect(name) {
  const s = io(url + opts.ns, { forceNew: true, reconnection: false });
  sockets.push(s);
  s.on("disconnect", (reason) => print({ client: name, event: "disconnect", reason }));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name}: no connection within ${timeout} ms`)), timeout);
    s.once("connect", () => {
      clearTimeout(t);
      print({ client: name, event: "connect", id: s.id });
      resolve(s);
    });
    s.once("connect_error", (err) => {
      clearTimeout(t);
      reject(new Error(`${name}: connect_error: ${err.message}`));
    });
  });
}

// ask emits event with an ack callback and resolves with the ack's argument.
async function ask(name, s, event, ...args) {
  const ack = await s.timeout(timeout).emitWithAck(event, ...args);
  print({ client: name, event: "ack", of: event, args, ack });
  return ack;
}

// nextMessage resolves with the next "message" event that s receives.
function nextMessage(name, s) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name}: no message within ${timeout} ms`)), timeout);
    s.once("message", (msg) => {
      clearTimeout(t);
      print({ client: name, event: "message", msg });
      resolve(msg);
    });
  });
}

const isError = (ack) => ack?.error?.code === "service_error" && typeof ack.error.message === "string";

try {
  const room = opts.room;
  const a = await connect("A");

  const created = await ask("A", a, "createRoom", { name: room });
  check(typeof created?.id === "string" && created.id !== "" && created.status === "ok", "createRoom: want {id, status: \"ok\"}", created);

  const refused = await ask("A", a, "createRoom", { name: "" });
  check(isError(refused), "createRoom with an empty name: want {error: {code: \"service_error\", message}}", refused);

  const b = await connect("B");
  const joined = await ask("B", b, "joinRoom", room);
  check(joined?.ok === true, "joinRoom: want {ok: true}", joined);

  const received = Promise.all([nextMessage("A", a), nextMessage("B", b)]);
  const sent = await ask("A", a, "message", { room, text: "hi" });
  check(sent?.ok === true, "message: want {ok: true}", sent);
  for (const msg of await received) {
    check(msg?.room === room && msg.text === "hi" && msg.from === a.id && typeof msg.at === "number",
      `message: want {room: "${room}", from: "${a.id}", text: "hi", at: <number>}`, msg);
  }

  const left = await ask("B", b, "leaveRoom", room);
  check(left?.ok === true, "leaveRoom: want {ok: true}", left);
  const outsider = await ask("B", b, "message", { room, text: "still here?" });
  check(isError(outsider), "message after leaveRoom: want an error", outsider);

  for (const s of sockets) s.close();
  print({ ok: true });
  process.exit(0); // rather than wait for idle keep-alive HTTP connections (polling) to time out
} catch (err) {
  fail(err);
}
