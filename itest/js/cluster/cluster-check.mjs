// Checks a running Switchboard cluster (scripts/cluster.sh, docker compose)
// from the outside with the real socket.io-client: through the load
// balancer with each transport (HTTP long-polling needs sticky sessions
// there), on each edge directly, and across edges (a broadcast from a client
// of one edge reaches the clients of every other edge; the chat service of
// examples/chat answers clients of different edges).
//
//   node itest/js/cluster/cluster-check.mjs --edges http://127.0.0.1:3001,http://127.0.0.1:3002 \
//        [--lb http://127.0.0.1:3000] [--timeout 5000] [--only lb-polling,cross-edge-broadcast] [--no-chat]
//
// The edges need the demo handlers (--demo-handlers: echo, join, broadcast)
// and, for the chat check, --namespace /chat and the chat service. Prints one
// JSON line per check, {"check", "ok", "ms", "error"?, ...}, then
// {"done": true, "passed", "failed"}; the exit code is 0 iff every check
// passed. Run `npm ci` in itest/js once.
import { parseArgs } from "node:util";
import { io } from "socket.io-client";

const { values: opts } = parseArgs({
  options: {
    lb: { type: "string" },
    edges: { type: "string", default: "" },
    timeout: { type: "string", default: "5000" },
    only: { type: "string", default: "" },
    "no-chat": { type: "boolean", default: false },
  },
});
const trim = (u) => u.trim().replace(/\/socket\.io\/?$/, "").replace(/\/$/, "");
const lb = opts.lb ? trim(opts.lb) : "";
const edges = opts.edges.split(",").filter((u) => u.trim() !== "").map(trim);
const timeout = Number(opts.timeout);
const only = new Set(opts.only.split(",").filter(Boolean));
if (edges.length === 0 && !lb) {
  console.error("cluster-check: give --edges and/or --lb");
  process.exit(2);
}

const print = (o) => console.log(JSON.stringify(o));
const tag = Math.random().toString(36).slice(2, 8); // keeps room names apart between runs
let sockets = [];

function within(ms, what, p) {
  let t;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

// connect opens a socket on its own connection and resolves once connected.
function connect(url, nsp = "/", extra = {}) {
  const s = io(url + nsp, { forceNew: true, reconnection: false, timeout, ...extra });
  sockets.push(s);
  return within(timeout, `connect to ${url}${nsp}`, new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", (err) => reject(new Error(`connect_error from ${url}${nsp}: ${err.message}`)));
  }));
}

const ask = (s, event, ...args) => s.timeout(timeout).emitWithAck(event, ...args);

function next(s, event, what) {
  return within(timeout, what, new Promise((resolve) => s.once(event, (...args) => resolve(args))));
}

function eq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

// echoes runs rounds of echo acks on s, spaced by gap ms: with polling, each
// round is new HTTP requests, which must reach the edge holding the session.
async function echoes(s, rounds, gap, label) {
  for (let i = 0; i < rounds; i++) {
    const reply = await ask(s, "echo", { label, i });
    eq(reply, { label, i }, `echo ${i} of ${label}`);
    if (gap) await new Promise((r) => setTimeout(r, gap));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// broadcastReachesAll: every socket joins room; from each sender in turn, a
// broadcast reaches every socket, the sender included.
async function broadcastReachesAll(all, room, senders) {
  for (const s of all) {
    const rooms = await ask(s, "join", room);
    if (!rooms.includes(room)) throw new Error(`join ${room}: rooms ${JSON.stringify(rooms)}`);
  }
  for (const from of senders) {
    const payload = { from: from.id, room };
    const got = all.map((s, i) => next(s, "msg", `msg from ${from.id} at socket ${i} (${s.io.uri})`));
    from.emit("broadcast", room, payload);
    for (const args of await Promise.all(got)) eq(args, [payload], "msg");
  }
}

const checks = [];
const check = (name, fn, when = true) => { if (when) checks.push({ name, fn }); };

// Through the load balancer.
check("lb-polling", async () => {
  // Six sessions (two rounds over three edges), each making requests over
  // more than a second: without stickiness most would hit another edge.
  const ss = await Promise.all([...Array(6)].map(() => connect(lb, "/", { transports: ["polling"] })));
  await Promise.all(ss.map((s, i) => echoes(s, 4, 300, `polling-${i}`)));
  for (const s of ss) eq(s.io.engine.transport.name, "polling", "transport");
  return { sessions: ss.length };
}, !!lb);

check("lb-websocket", async () => {
  const ss = await Promise.all([...Array(6)].map(() => connect(lb, "/", { transports: ["websocket"] })));
  await Promise.all(ss.map((s, i) => echoes(s, 3, 0, `ws-${i}`)));
  return { sessions: ss.length };
}, !!lb);

check("lb-upgrade", async () => {
  // The default: polling first, then the upgrade to WebSocket, whose
  // request carries the sid and must reach the same edge.
  const ss = await Promise.all([...Array(6)].map(() => connect(lb)));
  await Promise.all(ss.map(async (s) => {
    if (s.io.engine.transport.name !== "websocket") {
      await within(timeout, "upgrade", new Promise((r) => s.io.engine.once("upgrade", r)));
    }
  }));
  await Promise.all(ss.map((s, i) => echoes(s, 2, 0, `upgraded-${i}`)));
  return { sessions: ss.length };
}, !!lb);

// Every edge directly.
check("edges-direct", async () => {
  for (const url of edges) {
    const s = await connect(url, "/", { transports: ["polling"] });
    await echoes(s, 2, 0, url);
    const w = await connect(url, "/", { transports: ["websocket"] });
    await echoes(w, 2, 0, url);
  }
  return { edges: edges.length };
}, edges.length > 0);

// Across edges: the fan-out adapter.
check("cross-edge-broadcast", async () => {
  const all = await Promise.all(edges.map((u) => connect(u)));
  await broadcastReachesAll(all, `room-${tag}-direct`, [all[0], all[all.length - 1]]);
  return { edges: edges.length };
}, edges.length > 1);

check("lb-broadcast", async () => {
  // Round robin spreads these over the edges; each one's broadcast reaches all.
  const n = Math.max(3, edges.length);
  const all = await Promise.all([...Array(n)].map(() => connect(lb, "/", { transports: ["websocket"] })));
  await broadcastReachesAll(all, `room-${tag}-lb`, all);
  return { sockets: n };
}, !!lb);

// Across edges: the services API (the chat service on /chat).
check("cross-edge-chat", async () => {
  const [ua, ub] = [edges[0], edges[edges.length - 1]];
  const a = await connect(ua, "/chat");
  const b = await connect(ub, "/chat");
  const room = `r${tag}`;
  const created = await ask(a, "createRoom", { name: room });
  if (created?.status !== "ok") throw new Error(`createRoom: ${JSON.stringify(created)}`);
  const joined = await ask(b, "joinRoom", room);
  if (joined?.ok !== true) throw new Error(`joinRoom: ${JSON.stringify(joined)}`);
  const got = [next(a, "message", "chat message at A"), next(b, "message", `chat message at B (${ub})`)];
  const sent = await ask(a, "message", { room, text: "hi" });
  if (sent?.ok !== true) throw new Error(`message: ${JSON.stringify(sent)}`);
  for (const [m] of await Promise.all(got)) {
    if (m?.room !== room || m.text !== "hi" || m.from !== a.id) throw new Error(`message event: ${JSON.stringify(m)}`);
  }
  return { a: ua, b: ub };
}, edges.length > 1 && !opts["no-chat"]);

let passed = 0;
let failed = 0;
for (const { name, fn } of checks) {
  if (only.size && !only.has(name)) continue;
  const t0 = Date.now();
  try {
    const extra = await within(6 * timeout + 10000, name, fn());
    print({ check: name, ok: true, ms: Date.now() - t0, ...extra });
    passed++;
  } catch (err) {
    print({ check: name, ok: false, ms: Date.now() - t0, error: String(err?.message ?? err) });
    failed++;
  }
  for (const s of sockets) s.close();
  sockets = [];
  await sleep(50);
}
print({ done: true, passed, failed });
process.exit(failed === 0 && passed > 0 ? 0 : 1);
