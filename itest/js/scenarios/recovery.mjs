// Connection state recovery (needs the recovery server: --recovery-url).
// With recovery on, every non-volatile event without ack id that the server sends carries
// an offset string as its LAST argument; handlers below strip it.
import { ok, eq, deepEq, jsonEq, oneOf } from "../lib/assert.mjs";
import { emitAck, waitEvent, connected, fence, sleep, waitUntil } from "../lib/ctx.mjs";

// Records events whose name starts with `prefix`, as [suffix, ...args] (offset included).
function prefixRecorder(socket, prefix) {
  const items = [];
  socket.onAny((ev, ...args) => {
    if (typeof ev === "string" && ev.startsWith(prefix)) items.push([ev.slice(prefix.length), ...args]);
  });
  return items;
}

function checkOffsets(items, what) {
  const offsets = items.map((it) => it[it.length - 1]);
  offsets.forEach((o, i) => ok(typeof o === "string" && o.length > 0, `${what}: event #${i} has no offset string: ${JSON.stringify(items[i])}`));
  ok(new Set(offsets).size === offsets.length, `${what}: offsets not unique: ${JSON.stringify(offsets)}`);
}

// Strips the offset: [name, ...args].
const strip = (items) => items.map((it) => it.slice(0, -1));

async function missedWhileDisconnected(ctx, { transport, auto }) {
  const base = ctx.recoveryUrl;
  const opts = auto
    ? { transports: [transport], reconnection: true, reconnectionDelay: 300, reconnectionDelayMax: 300, randomizationFactor: 0 }
    : { transports: [transport] };
  const A = ctx.client("/", opts, { base });
  const P = `${ctx.uid("p")}:`;
  const got = prefixRecorder(A, P);
  const w1 = await connected(A);
  eq(w1.recovered, false, "first welcome.recovered");
  eq(A.recovered, false, "first socket.recovered");
  const idA = A.id;
  const { socket: B } = await ctx.connect("/", { transports: ["websocket"] }, { base });
  const r = ctx.uid("r");
  const other = ctx.uid("other");
  await emitAck(A, 3000, "join", r);

  B.emit("to", [r], [], `${P}live`, 0);
  await waitUntil(() => got.length >= 1, 3000, "the live event");
  checkOffsets(got, "live event");

  const disc = waitEvent(A, "disconnect", 5000, "disconnect");
  A.emit("drop-transport");
  const [reason] = await disc;
  oneOf(reason, ["transport close", "transport error"], "disconnect reason");
  eq(A.connected, false, "connected after drop");

  // while A is away
  B.emit("to", [r], [], `${P}missed`, 1, { k: "v" });
  B.emit("to", [r], [], `${P}missed`, 2, Buffer.from([2]));
  B.emit("to", [r], [], `${P}missed`, 3);
  B.emit("to", [], [], `${P}missed-all`, 4);
  B.emit("to", [other], [], `${P}not-for-a`, 5);
  B.emit("to", [r], [idA], `${P}except-a`, 6);
  B.emit("to", [], [r], `${P}except-r`, 7);
  await fence(B);

  const timeline = [];
  const onConnect = () => timeline.push("connect");
  const onWelcome = () => timeline.push("welcome");
  const onAny = (ev) => typeof ev === "string" && ev.startsWith(P) && timeline.push(ev.slice(P.length));
  A.on("connect", onConnect);
  A.on("welcome", onWelcome);
  A.onAny(onAny);
  const reconnected = connected(A, 8000);
  if (!auto) A.connect();
  const w2 = await reconnected;
  eq(A.recovered, true, "socket.recovered after reconnect");
  eq(A.id, idA, "socket.id after recovery");
  eq(w2.recovered, true, "welcome.recovered after recovery");
  eq(w2.id, idA, "welcome.id after recovery");

  await waitUntil(() => got.length >= 5, 3000, `missed events (have ${JSON.stringify(strip(got))})`);
  await fence(A);
  checkOffsets(got, "events");
  ctx.note(`client-side order after reconnect: ${timeline.join(" ")}; welcome.auth keys after recovery: ${Object.keys(w2.auth || {}).join(",")}`);
  const seen = strip(got).map(([name, n]) => [name, n]);
  jsonEq(
    seen,
    [
      ["live", 0],
      ["missed", 1],
      ["missed", 2],
      ["missed", 3],
      ["missed-all", 4],
    ],
    "events seen by the recovered client (exactly once, in order)",
  );
  jsonEq(got[1].slice(2, -1), [{ k: "v" }], "missed #1 args");
  ok(Buffer.isBuffer(got[2][2]) && got[2][2].equals(Buffer.from([2])), `missed #2 binary arg: ${got[2][2]}`);

  // rooms came back
  deepEq((await emitAck(A, 3000, "rooms"))[0], [idA, r].sort(), "rooms after recovery");
  B.emit("to", [r], [], `${P}after`, 8);
  await waitUntil(() => got.length >= 6, 3000, "event after recovery");
  eq(got[5][0], "after", "event after recovery");
  return reason;
}

export default [
  {
    name: "recovery-manual-reconnect",
    recovery: true,
    async run(ctx) {
      const reason = await missedWhileDisconnected(ctx, { transport: "websocket", auto: false });
      ctx.note(`client reason "${reason}"`);
    },
  },
  {
    name: "recovery-auto-reconnect-polling",
    recovery: true,
    async run(ctx) {
      const reason = await missedWhileDisconnected(ctx, { transport: "polling", auto: true });
      ctx.note(`client reason "${reason}"`);
    },
  },
  {
    name: "recovery-not-recoverable",
    recovery: true,
    async run(ctx) {
      const base = ctx.recoveryUrl;
      // unknown pid/offset in the CONNECT payload: a fresh session, no error
      const { socket: s1, welcome: w1 } = await ctx.connect("/", { transports: ["websocket"], auth: { pid: "unknown-pid", offset: "unknown-offset" } }, { base });
      eq(w1.recovered, false, "unknown pid: welcome.recovered");
      eq(s1.recovered, false, "unknown pid: socket.recovered");
      eq(w1.id, s1.id, "unknown pid: welcome.id");

      // a namespace disconnect by the client is not recoverable
      const A = ctx.client("/", { transports: ["websocket"] }, { base });
      const wa = await connected(A);
      const id1 = A.id;
      await emitAck(A, 3000, "join", ctx.uid("r"));
      A.disconnect();
      await sleep(100);
      A.connect();
      const wb = await connected(A);
      eq(A.recovered, false, "after client disconnect: socket.recovered");
      eq(wb.recovered, false, "after client disconnect: welcome.recovered");
      ok(A.id !== id1, "after client disconnect: a new id");
      deepEq((await emitAck(A, 3000, "rooms"))[0], [A.id], "after client disconnect: rooms");

      // a namespace disconnect by the server is not recoverable either
      const id2 = A.id;
      const d = waitEvent(A, "disconnect", 5000, "disconnect");
      A.emit("disconnect-me", false);
      eq((await d)[0], "io server disconnect", "disconnect reason");
      A.connect();
      const wc = await connected(A);
      eq(A.recovered, false, "after server disconnect: socket.recovered");
      eq(wc.recovered, false, "after server disconnect: welcome.recovered");
      ok(A.id !== id2, "after server disconnect: a new id");
      void wa;
    },
  },
  {
    // skipMiddlewares: a recovered session does not go through the namespace middleware again.
    name: "recovery-skips-middlewares",
    recovery: true,
    async run(ctx) {
      const base = ctx.recoveryUrl;
      const A = ctx.client("/auth", { transports: ["websocket"], auth: { token: "secret" } }, { base });
      await connected(A);
      const id = A.id;
      // get an offset recorded on the client
      const ev = ctx.uid("e");
      const p = waitEvent(A, ev, 3000, "an event with offset");
      A.emit("to", [id], [], ev, 1);
      const [n, offset] = await p;
      eq(n, 1, "event arg");
      ok(typeof offset === "string", `offset: ${offset}`);
      const d = waitEvent(A, "disconnect", 5000, "disconnect");
      A.emit("drop-transport");
      await d;
      A.auth = { token: "now-wrong" };
      A.connect();
      const w = await connected(A, 5000);
      eq(A.recovered, true, "recovered despite a now-invalid token");
      eq(w.recovered, true, "welcome.recovered");
      eq(A.id, id, "same id");
      // a brand-new connection with the wrong token is still refused
      const B = ctx.client("/auth", { transports: ["websocket"], auth: { token: "now-wrong" } }, { base });
      const err = await new Promise((res, rej) => {
        B.once("connect_error", res);
        B.once("connect", () => rej(new Error("a new socket with a wrong token connected")));
      });
      eq(err.message, "unauthorized", "fresh connection with the wrong token");
    },
  },
];
