// The chat service of the Switchboard examples, in Node.js with the `nats`
// npm client and nothing else: it speaks the services contract
// (docs/nats-api.md) as raw JSON. It answers the same events with the same
// replies as the Go version (examples/chat), so the two are interchangeable
// and may share one queue group:
//
//   createRoom({name}, ack)     joins the caller to the room; ack {id, status: "ok"}
//   joinRoom(name, ack)         joins the caller to the room;  ack {id, ok: true}
//   leaveRoom(name, ack)        the caller leaves the room;    ack {id, ok: true}
//   message({room, text}, ack)  emits "message" {room, from, text, at} to the
//                               room (sender included); ack {ok: true}
//
// A refused event is answered {"error":{"code","message"}}; the client's ack
// receives {error: {code: "service_error", message}}.
//
//   node service.mjs [--nats-url nats://127.0.0.1:4222] [--ns /chat] [--prefix sb] [--queue chat]
//
// It prints READY on stdout once subscribed, logs to stderr, and drains on
// SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { connect } from "nats";

const { values: opts } = parseArgs({
  options: {
    "nats-url": { type: "string", default: process.env.SWITCHBOARD_NATS_URL ?? "nats://127.0.0.1:4222" },
    ns: { type: "string", default: process.env.CHAT_NS ?? "/chat" },
    prefix: { type: "string", default: process.env.SWITCHBOARD_SUBJECT_PREFIX ?? "sb" },
    queue: { type: "string", default: process.env.CHAT_QUEUE ?? "chat" },
  },
});
const P = opts.prefix;
const NS = opts.ns.startsWith("/") ? opts.ns : "/" + opts.ns;

const log = (msg, fields = {}) =>
  console.error(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }));

// --- Subject tokens (docs/nats-api.md, "Tokens") ---------------------------

// nameToken escapes an event, room or namespace name (without its "/") into
// one subject token: bytes outside [A-Za-z0-9_-] become %XX.
function nameToken(name) {
  if (name === "") return "_";
  if (name === "_") return "%5F";
  let out = "";
  for (const b of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_-]/.test(c) ? c : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}
const nsToken = (ns) => (ns === "/" ? "_" : nameToken(ns.slice(1)));

// --- The chat rules (the same as examples/chat/chatsvc) ---------------------

const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TEXT_LEN = 2000;
const ROOM_RULE = "of 1 to 64 letters, digits, '-' or '_'";
const roomId = (name) => "room-" + name;

// Refused is an error whose message the client sees.
class Refused extends Error {
  constructor(message, code = "bad_request") {
    super(message);
    this.code = code;
  }
}
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

const nc = await connect({
  servers: opts["nats-url"],
  name: "switchboard-example-chat-node",
  maxReconnectAttempts: -1,
});

// command sends P.cmd.<name> as a request and returns the decoded reply,
// throwing when the cluster refused it or nobody answered.
async function command(name, body) {
  let m;
  try {
    m = await nc.request(`${P}.cmd.${name}`, JSON.stringify(body), { timeout: 10_000 });
  } catch (err) {
    log("command failed", { command: name, err: String(err) });
    throw new Refused("chat unavailable, try again later", "unavailable");
  }
  const reply = m.json();
  if (reply.error) {
    log("command refused", { command: name, error: reply.error });
    throw new Refused("chat unavailable, try again later", "unavailable");
  }
  return reply;
}

// Each handler gets the event body ({sid, ns, event, args, node, user?, data?})
// and returns the reply body ({args, join?, leave?}).
const handlers = {
  createRoom(ev) {
    const [req] = ev.args;
    if (!isObject(req) || typeof req.name !== "string" || !ROOM_NAME.test(req.name)) {
      throw new Refused(`want {name} ${ROOM_RULE}`);
    }
    const id = roomId(req.name);
    return { args: [{ id, status: "ok" }], join: [id] }; // joined before the client gets the ack
  },

  joinRoom(ev) {
    const id = roomId(roomArg(ev));
    return { args: [{ id, ok: true }], join: [id] };
  },

  leaveRoom(ev) {
    const id = roomId(roomArg(ev));
    return { args: [{ id, ok: true }], leave: [id] };
  },

  async message(ev) {
    let [req] = ev.args;
    if (req === null) req = {}; // (as Go's encoding/json reads it)
    if (!isObject(req)) throw new Refused("want {room, text}");
    const room = req.room ?? "", text = req.text ?? "";
    if (typeof room !== "string" || typeof text !== "string") throw new Refused("want {room, text}");
    if (!ROOM_NAME.test(room)) throw new Refused(`want a room name ${ROOM_RULE}`);
    if (text.length === 0 || [...text].length > MAX_TEXT_LEN) {
      throw new Refused(`the text must have 1 to ${MAX_TEXT_LEN} characters`);
    }
    // Only members may speak: ask the cluster which rooms the sender is in.
    const socks = await command("sockets", { ns: ev.ns, sids: [ev.sid] });
    if (!socks.sockets?.[0]?.rooms?.includes(roomId(room))) {
      throw new Refused(`join ${room} before sending to it`);
    }
    const msg = { room, from: ev.user || ev.sid, text, at: Date.now() };
    await command("emit", { ns: ev.ns, rooms: [roomId(room)], event: "message", args: [msg] });
    return { args: [{ ok: true }] };
  },
};

function roomArg(ev) {
  const [name] = ev.args;
  if (typeof name !== "string" || !ROOM_NAME.test(name)) {
    throw new Refused(`want a room name ${ROOM_RULE}`);
  }
  return name;
}

// handle answers one P.ev message with handler. Without a reply subject the
// client asked for no ack: the effects still happen, the joins and leaves as
// commands.
async function handle(m, handler) {
  let ev;
  try {
    ev = m.json();
  } catch {
    if (m.reply) m.respond(JSON.stringify({ error: { code: "bad_request", message: "malformed event" } }));
    return;
  }
  if (!Array.isArray(ev.args)) ev.args = [];
  let reply;
  try {
    reply = await handler(ev);
  } catch (err) {
    const refused = err instanceof Refused;
    log(refused ? "refused" : "handler failed", { event: ev.event, sid: ev.sid, err: String(err) });
    if (m.reply) {
      const error = refused ? { code: err.code, message: err.message } : { code: "service_error", message: "internal error" };
      m.respond(JSON.stringify({ error }));
    }
    return;
  }
  if (m.reply) {
    m.respond(JSON.stringify(reply));
    return;
  }
  const sel = { ns: ev.ns, sids: [ev.sid] };
  if (reply.leave) nc.publish(`${P}.cmd.leave`, JSON.stringify({ ...sel, leave: reply.leave }));
  if (reply.join) nc.publish(`${P}.cmd.join`, JSON.stringify({ ...sel, join: reply.join }));
}

// subscribe runs fn for every message of subject in the queue group, each
// concurrently; running tracks the calls that have not finished.
const subs = [];
const running = new Set();
function subscribe(subject, fn) {
  const sub = nc.subscribe(subject, {
    queue: opts.queue,
    callback: (err, m) => {
      if (err) {
        log("subscription error", { subject, err: String(err) });
        return;
      }
      const p = Promise.resolve()
        .then(() => fn(m))
        .catch((err) => log("handler failed", { subject, err: String(err) }))
        .finally(() => running.delete(p));
      running.add(p);
    },
  });
  subs.push(sub);
}

const nsTok = nsToken(NS);
for (const [event, handler] of Object.entries(handlers)) {
  subscribe(`${P}.ev.${nsTok}.${nameToken(event)}`, (m) => handle(m, handler));
}
subscribe(`${P}.conn.${nsTok}`, (m) => {
  const c = m.json();
  log("connected", { sid: c.sid, user: c.user, node: c.node, address: c.handshake?.address });
});
subscribe(`${P}.disc.${nsTok}`, (m) => {
  const d = m.json();
  log("disconnected", { sid: d.sid, user: d.user, reason: d.reason });
});

let connected = true;
(async () => {
  for await (const s of nc.status()) {
    if (s.type === "disconnect" || s.type === "reconnect") {
      connected = s.type === "reconnect";
      log(`NATS ${s.type}`, { server: s.data });
    }
  }
})();

await nc.flush(); // the server has the subscriptions
log("chat service ready", { nats: nc.getServer(), ns: NS, prefix: P, queue: opts.queue });
console.log("READY");

// On SIGINT/SIGTERM: stop taking events, let the running handlers finish
// (they still send commands and replies), then flush and close, within 10 s.
// While NATS is unreachable nothing more can be answered: close at once.
let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    if (stopping) process.exit(1); // a second signal: at once
    stopping = true;
    log("shutting down");
    setTimeout(() => {
      log("shutdown timed out");
      process.exit(1);
    }, 10_000).unref();
    if (!connected) {
      await nc.close();
      return;
    }
    await Promise.allSettled(subs.map((s) => s.drain()));
    await Promise.allSettled([...running]);
    await nc.drain();
  });
}
const err = await nc.closed();
if (err) log("NATS connection closed", { err: String(err) });
process.exit(err ? 1 : 0); // without waiting for the client's leftover timers
