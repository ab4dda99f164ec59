// Connection lifecycle: server-initiated disconnects, transport drops and reconnection,
// heartbeat, ping timeout, maxHttpBufferSize enforcement.
import { ok, eq, deepEq, jsonEq, oneOf, between } from "../lib/assert.mjs";
import { emitAck, waitEvent, waitUntil, connected, fence, sleep, recorder } from "../lib/ctx.mjs";

const T = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"] },
};

const serverDisconnect = {
  name: "server-disconnect",
  timeout: 15000,
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
    timeout: 12000,
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
    timeout: 10000,
    async run(ctx) {
      const { socket } = await ctx.connect("/", T[variant]);
      const pings = [];
      socket.io.engine.on("ping", () => pings.push(Date.now()));
      let disconnected = null;
      socket.on("disconnect", (r) => (disconnected = r));
      const t0 = Date.now();
      await waitUntil(() => (pings.length >= 4 && Date.now() - t0 >= 2600) || disconnected, 7000, `4 pings (have ${pings.length})`);
      eq(disconnected, null, "disconnected during heartbeat");
      ok(socket.connected, "still connected");
      const gaps = pings.slice(1).map((t, i) => t - pings[i]);
      ok(gaps.every((g) => g >= 250), `pings too close together: ${JSON.stringify(gaps)}`);
      jsonEq(await emitAck(socket, 3000, "echo", "hb"), ["hb"], "echo after heartbeats");
      ctx.note(`${pings.length} pings in ${Date.now() - t0} ms, gaps ${JSON.stringify(gaps)}`);
    },
  };
}

function pingTimeout(variant) {
  return {
    name: `ping-timeout-${variant}`,
    timeout: 10000,
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
      const disc = waitEvent(socket, "disconnect", 5000, "disconnect by ping timeout");
      dropping = true;
      const [reason] = await disc;
      const tClose = Date.now();
      ok(unanswered.length >= 1, "closed before any ping went unanswered");
      const sinceAnswered = tClose - lastAnswered;
      const sinceUnanswered = tClose - unanswered[0];
      ctx.note(`client reason "${reason}", ${sinceAnswered} ms after the last pong, ${sinceUnanswered} ms after the first unanswered ping`);
      eq(reason, "transport close", "disconnect reason");
      ok(sinceAnswered <= 2000, `closed ${sinceAnswered} ms after the last answered ping (limit 1500 + 500)`);
      ok(sinceUnanswered >= 700, `closed only ${sinceUnanswered} ms after the first unanswered ping (pingTimeout 1000)`);
      // The server-side socket is gone: its room is empty.
      const [r] = await emitAck(observer, 3000, "ask-room", room, 300);
      deepEq(r, { err: null, responses: [] }, "ask-room to the timed-out socket's room");
    },
  };
}

function oversized(variant) {
  return {
    name: `oversized-${variant}`,
    timeout: 15000,
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
      const disc = waitEvent(socket, "disconnect", 8000, "disconnect after an oversized message");
      socket.emit("echo", big, () => (acked = true));
      const [reason] = await disc;
      oneOf(reason, ["transport close", "transport error"], "disconnect reason");
      ctx.note(`client reason "${reason}"`);
      eq(acked, false, "the oversized message was acked");

      // the other client, connected the whole time, is unaffected
      ok(other.connected, "other client still connected");
      jsonEq(await emitAck(other, 3000, "echo", "fine", 1), ["fine", 1], "echo on the other client");
      // and the oversized client's server-side socket is gone (or going) — eventually its room is empty
      let last;
      for (let i = 0; i < 30; i++) {
        [last] = await emitAck(other, 3000, "ask-room", room, 200);
        if (last.err === null) break;
        await sleep(100);
      }
      deepEq(last, { err: null, responses: [] }, "room of the refused client");
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
