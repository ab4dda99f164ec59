// Connection lifecycle: server-initiated disconnects, transport drops and reconnection,
// heartbeat, ping timeout, maxHttpBufferSize enforcement.
import { ok, eq, deepEq, jsonEq, oneOf } from "../lib/assert.mjs";
import { emitAck, waitEvent, waitUntil, connected, sleep, slack } from "../lib/ctx.mjs";

const T = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"] },
};

const serverDisconnect = {
  name: "server-disconnect",
  async run(ctx) {
    for (const close of [false, true]) {
      const socket = ctx.client("/", { transports: ["websocket"], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
      await connected(socket);
      let connects = 0;
      let attempts = 0;
      socket.on("connect", () => connects++);
      socket.io.on("reconnect_attempt", () => attempts++);
      const disc = waitEvent(socket, "disconnect", 5000, "disconnect");
      socket.emit("disconnect-me", close);
      const [reason] = await disc;
      eq(reason, "io server disconnect", `disconnect reason (close=${close})`);
      await sleep(1500);
      eq(socket.connected, false, `connected 1.5 s later (close=${close})`);
      eq(socket.active, false, `active 1.5 s later (close=${close})`);
      eq(connects, 0, `reconnections (close=${close})`);
      eq(attempts, 0, `reconnect attempts (close=${close})`);
    }

    // Multiplexed: disconnect(false) only ends that namespace; disconnect(true) ends every
    // namespace of the connection (each gets a DISCONNECT) and then the Engine.IO session.
    const m = ctx.manager({ transports: ["websocket"], reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
    const root = m.socket("/");
    const custom = m.socket("/custom");
    await Promise.all([connected(root), connected(custom)]);
    const eid = m.engine.id;
    let d = waitEvent(root, "disconnect", 5000, "disconnect of /");
    root.emit("disconnect-me", false);
    eq((await d)[0], "io server disconnect", "reason on / after disconnect-me(false)");
    jsonEq(await emitAck(custom, 3000, "echo", "alive"), ["alive"], "/custom after / was disconnected");
    eq(m.engine.id, eid, "engine id after a namespace-only disconnect");

    const again = m.socket("/"); // re-opens "/" on the same session
    await connected(again);
    const reasons = {};
    const d1 = waitEvent(again, "disconnect", 5000, "disconnect of /").then(([r]) => (reasons["/"] = r));
    const d2 = waitEvent(custom, "disconnect", 5000, "disconnect of /custom").then(([r]) => (reasons["/custom"] = r));
    let engineClosed = false;
    m.engine.on("close", () => (engineClosed = true));
    again.emit("disconnect-me", true);
    await Promise.all([d1, d2]);
    deepEq(reasons, { "/": "io server disconnect", "/custom": "io server disconnect" }, "reasons after disconnect-me(true)");
    await waitUntil(() => engineClosed, 3000, "the Engine.IO session to close");
    await sleep(1000);
    ok(!again.connected && !custom.connected, "no namespace reconnected");
  },
};

function transportDrop(variant) {
  return {
    name: `transport-drop-reconnect-${variant}`,
    async run(ctx) {
      const socket = ctx.client("/", {
        ...T[variant],
        reconnection: true,
        reconnectionDelay: 300,
        reconnectionDelayMax: 300,
        randomizationFactor: 0,
      });
      const w1 = await connected(socket);
      const id1 = socket.id;
      const eid1 = socket.io.engine.id;
      const room = ctx.uid("room");
      await emitAck(socket, 3000, "join", room);

      const disc = waitEvent(socket, "disconnect", 5000, "disconnect");
      const reconnect = waitEvent(socket.io, "reconnect", 8000, "manager reconnect");
      socket.emit("drop-transport");
      const [reason] = await disc;
      oneOf(reason, ["transport close", "transport error"], "disconnect reason");
      eq(socket.connected, false, "connected after the drop");
      ok(socket.active, "socket must stay active (reconnecting)");
      ctx.note(`client reason "${reason}"`);

      const w2 = await connected(socket, 8000);
      await reconnect;
      ok(socket.id && socket.id !== id1, `a new socket id after reconnect (${socket.id} vs ${id1})`);
      eq(w2.id, socket.id, "welcome.id after reconnect");
      eq(w2.recovered, false, "welcome.recovered without recovery");
      ok(!socket.recovered, `socket.recovered without recovery: ${socket.recovered}`);
      ok(socket.io.engine.id !== eid1, "a new Engine.IO session after reconnect");
      eq(socket.io.engine.transport.name, variant, "transport after reconnect");
      deepEq((await emitAck(socket, 3000, "rooms"))[0], [socket.id], "rooms are not kept without recovery");
      jsonEq(await emitAck(socket, 3000, "echo", "again", { n: 1 }), ["again", { n: 1 }], "echo after reconnect");
      void w1;
    },
  };
}

function heartbeat(variant) {
  return {
    name: `heartbeat-${variant}`,
    async run(ctx) {
      const { socket } = await ctx.connect("/", T[variant]);
      const pings = [];
      socket.io.engine.on("ping", () => pings.push(Date.now()));
      let disconnected = null;
      socket.on("disconnect", (r) => (disconnected = r));
      const t0 = Date.now();
      const { interval } = ctx.hb;
      const minSpan = 5 * interval + 100; // ≥ 4 ping intervals
      await waitUntil(() => (pings.length >= 4 && Date.now() - t0 >= minSpan) || disconnected, minSpan + 4000, `4 pings (have ${pings.length})`);
      eq(disconnected, null, "disconnected during heartbeat");
      ok(socket.connected, "still connected");
      const span = Date.now() - t0;
      const gaps = pings.slice(1).map((t, i) => t - pings[i]);
      ok(pings.length <= span / (interval / 2) + 2, `too many pings: ${pings.length} in ${span} ms (pingInterval ${interval})`);
      jsonEq(await emitAck(socket, 3000, "echo", "hb"), ["hb"], "echo after heartbeats");
      ctx.note(`${pings.length} pings in ${span} ms, gaps ${JSON.stringify(gaps)}`);
    },
  };
}

function pingTimeout(variant) {
  return {
    name: `ping-timeout-${variant}`,
    async run(ctx) {
      const { socket: observer } = await ctx.connect("/", T.websocket);
      const { socket } = await ctx.connect("/", T[variant]);
      const room = ctx.uid("pt");
      await emitAck(socket, 3000, "join", room);
      const engine = socket.io.engine;
      let dropping = false;
      let lastAnswered = 0;
      const unanswered = [];
      const orig = engine._sendPacket;
      // Drop outgoing Engine.IO pong packets once `dropping` is set.
      engine._sendPacket = function (type, ...rest) {
        if (type === "pong") {
          if (dropping) {
            unanswered.push(Date.now());
            return;
          }
          lastAnswered = Date.now();
        }
        return orig.call(this, type, ...rest);
      };
      let disconnectedEarly = null;
      socket.on("disconnect", (r) => (disconnectedEarly = disconnectedEarly || r));
      await waitUntil(() => lastAnswered > 0, 3000, "a first answered ping");
      const disc = waitEvent(socket, "disconnect", ctx.hb.interval + ctx.hb.timeout + 5000, "disconnect by ping timeout");
      // This client also stops enforcing its own heartbeat deadline (normally
      // pingInterval + pingTimeout after each ping), so that the close can only come
      // from the server, even when the server process is scheduled late.
      engine._pingTimeout = 60000;
      engine._resetPingTimeout();
      dropping = true;
      const [reason] = await disc;
      const tClose = Date.now();
      ok(unanswered.length >= 1, "closed before any ping went unanswered");
      const sinceAnswered = tClose - lastAnswered;
      const sinceUnanswered = tClose - unanswered[0];
      ctx.note(`client reason "${reason}", ${sinceAnswered} ms after the last pong, ${sinceUnanswered} ms after the first unanswered ping`);
      eq(reason, "transport close", "disconnect reason");
      // The server must wait at least pingTimeout after its unanswered ping, which it sent
      // after the last pong arrived; it should close by pingInterval + pingTimeout after that
      // pong (+500 ms slack, + however long this process itself was not scheduled).
      const { interval, timeout } = ctx.hb;
      ok(sinceAnswered >= timeout - 50, `closed only ${sinceAnswered} ms after the last answered ping (pingTimeout ${timeout})`);
      const limit = interval + timeout + slack(500) + ctx.maxLag;
      ok(sinceAnswered <= limit, `closed ${sinceAnswered} ms after the last answered ping (limit ${limit})`);
      // The server-side socket is gone: its room is empty.
      const [r] = await emitAck(observer, 3000, "ask-room", room, 300);
      deepEq(r, { err: null, responses: [] }, "ask-room to the timed-out socket's room");
    },
  };
}

function oversized(variant) {
  return {
    name: `oversized-${variant}`,
    async run(ctx) {
      const { socket: other } = await ctx.connect("/", T[variant]);
      const { socket } = await ctx.connect("/", T[variant]);
      const room = ctx.uid("big");
      await emitAck(socket, 3000, "join", room);

      // just under the limit: fine
      const under = "u".repeat(900000);
      const [back] = await emitAck(socket, 8000, "echo", under);
      ok(back === under, `900 kB echo differs (len ${back && back.length})`);

      // over the limit: the connection is refused
      const big = "x".repeat(1200000);
      let acked = false;
      let reason = null;
      socket.on("disconnect", (r) => (reason = r));
      socket.emit("echo", big, () => (acked = true));
      await waitUntil(() => reason || acked, 8000, "disconnect after an oversized message");
      ok(!acked, "the oversized message was accepted and acked");
      oneOf(reason, ["transport close", "transport error"], "disconnect reason");
      ctx.note(`client reason "${reason}"`);
      eq(acked, false, "the oversized message was acked");

      // the other client, connected the whole time, is unaffected
      ok(other.connected, "other client still connected");
      jsonEq(await emitAck(other, 3000, "echo", "fine", 1), ["fine", 1], "echo on the other client");
      // and the oversized client's server-side socket is gone (or going) — eventually its room is empty
      let last;
      const tGone = Date.now();
      for (let i = 0; i < 30; i++) {
        [last] = await emitAck(other, 3000, "ask-room", room, 200);
        if (last.err === null) break;
        await sleep(100);
      }
      deepEq(last, { err: null, responses: [] }, "room of the refused client");
      ctx.note(`server-side socket of the refused client gone within ${Date.now() - tGone} ms of the client's disconnect`);
    },
  };
}

export default [
  serverDisconnect,
  transportDrop("websocket"),
  transportDrop("polling"),
  heartbeat("websocket"),
  heartbeat("polling"),
  pingTimeout("websocket"),
  pingTimeout("polling"),
  oversized("websocket"),
  oversized("polling"),
];
