// Rooms, broadcasts (to/except/broadcast), broadcasts with acks, volatile.
import { ok, eq, deepEq, jsonEq, between } from "../lib/assert.mjs";
import { emitAck, recorder, fence, sleep, waitUntil, slack, connected } from "../lib/ctx.mjs";

export default [
  {
    name: "rooms",
    async run(ctx) {
      const opts = { transports: ["websocket"] };
      const { socket: A } = await ctx.connect("/", opts);
      const { socket: B } = await ctx.connect("/", opts);
      const { socket: C } = await ctx.connect("/", { transports: ["polling"] });
      const { socket: D } = await ctx.connect("/custom", opts);
      const r1 = ctx.uid("r1");
      const r2 = ctx.uid("r2");

      deepEq((await emitAck(A, 3000, "rooms"))[0], [A.id], "initial rooms of A");
      deepEq((await emitAck(A, 3000, "join", r1))[0], [A.id, r1].sort(), "rooms of A after join");
      deepEq((await emitAck(B, 3000, "join", r1))[0], [B.id, r1].sort(), "rooms of B after join");
      deepEq((await emitAck(B, 3000, "join", r2))[0], [B.id, r1, r2].sort(), "rooms of B after 2nd join");
      deepEq((await emitAck(B, 3000, "join", r2))[0], [B.id, r1, r2].sort(), "joining twice is idempotent");

      const clients = { A, B, C, D };
      // Sends one broadcast from `from` and checks who got it (exactly once each).
      const check = async (label, from, args, expected) => {
        const ev = ctx.uid("ev");
        const recs = Object.fromEntries(Object.entries(clients).map(([k, s]) => [k, recorder(s, ev)]));
        from.emit(...args(ev));
        await Promise.all(expected.map((k) => recs[k].waitCount(1, 5000, `${label}: ${k} receiving`)));
        // Fences: anything the server wrote to a connection before answering its echo has arrived.
        await Promise.all(Object.values(clients).map((s) => fence(s)));
        for (const [k, rec] of Object.entries(recs)) {
          rec.stop();
          const want = expected.includes(k) ? 1 : 0;
          eq(rec.length, want, `${label}: deliveries to ${k}`);
          if (want) jsonEq(rec[0], ["p", { k: label }], `${label}: payload at ${k}`);
        }
      };

      await check("to r1", C, (ev) => ["to", [r1], [], ev, "p", { k: "to r1" }], ["A", "B"]);
      await check("to r1 except A's id room", C, (ev) => ["to", [r1], [A.id], ev, "p", { k: "to r1 except A's id room" }], ["B"]);
      await check("to r1+r2 (union, once)", C, (ev) => ["to", [r1, r2], [], ev, "p", { k: "to r1+r2 (union, once)" }], ["A", "B"]);
      await check("to r1 except r2", A, (ev) => ["to", [r1], [r2], ev, "p", { k: "to r1 except r2" }], ["A"]);
      await check("to A's id room", C, (ev) => ["to", [A.id], [], ev, "p", { k: "to A's id room" }], ["A"]);
      await check("broadcast from A", A, (ev) => ["broadcast", ev, "p", { k: "broadcast from A" }], ["B", "C"]);
      await check("whole namespace", C, (ev) => ["to", [], [], ev, "p", { k: "whole namespace" }], ["A", "B", "C"]);
      await check("whole namespace except r1", C, (ev) => ["to", [], [r1], ev, "p", { k: "whole namespace except r1" }], ["C"]);
      await check("to unknown room", C, (ev) => ["to", [ctx.uid("nobody")], [], ev, "p", { k: "to unknown room" }], []);
      await check("whole /custom", D, (ev) => ["to", [], [], ev, "p", { k: "whole /custom" }], ["D"]);

      deepEq((await emitAck(A, 3000, "leave", r1))[0], [A.id], "rooms of A after leave");
      deepEq((await emitAck(A, 3000, "leave", r1))[0], [A.id], "leaving twice is harmless");
      await check("to r1 after A left", C, (ev) => ["to", [r1], [], ev, "p", { k: "to r1 after A left" }], ["B"]);

      // A disconnected socket leaves all its rooms: a broadcast-with-ack to r1+r2 then has
      // nobody to wait for (B's client is gone, so a stale member would make it time out).
      B.disconnect();
      delete clients.B;
      let last;
      for (let i = 0; i < 20; i++) {
        [last] = await emitAck(C, 3000, "ask-room", r2, 200);
        if (last.err === null) break;
        await sleep(100);
      }
      deepEq(last, { err: null, responses: [] }, "ask-room to r2 after its only member disconnected");
    },
  },

  {
    name: "broadcast-with-acks",
    async run(ctx) {
      const room = ctx.uid("r");
      const sockets = [];
      let cAnswers = false;
      for (const name of ["A", "B", "C"]) {
        const { socket } = await ctx.connect("/", { transports: [name === "B" ? "polling" : "websocket"] });
        socket.on("question-all", (ack) => {
          if (name !== "C" || cAnswers) ack(socket.id);
        });
        await emitAck(socket, 3000, "join", room);
        sockets.push(socket);
      }
      const [A, B, C] = sockets;
      const { socket: outsider } = await ctx.connect("/", { transports: ["websocket"] });
      let outsiderAsked = 0;
      outsider.on("question-all", (ack) => {
        outsiderAsked++;
        ack("outsider");
      });

      // C never answers: timeout error plus the two answers received so far
      let t0 = Date.now();
      const [r1] = await emitAck(outsider, 5000, "ask-room", room, 1000);
      let el = Date.now() - t0;
      eq(r1.err, "operation has timed out", "err when one client does not answer");
      deepEq([...r1.responses].sort(), [A.id, B.id].sort(), "responses when one client does not answer");
      between(el, 950, 1000 + slack(7000), "ms until the broadcast ack timeout");

      // everybody answers: no error (so it completed before the timeout), three answers
      cAnswers = true;
      const [r2] = await emitAck(outsider, 12000, "ask-room", room, 8000);
      eq(r2.err, null, "err when all answer");
      deepEq([...r2.responses].sort(), [A.id, B.id, C.id].sort(), "responses when all answer");
      eq(outsiderAsked, 0, "a client outside the room was asked");

      // an empty room completes with no responses and no error (not by timing out)
      const [r3] = await emitAck(outsider, 12000, "ask-room", ctx.uid("empty"), 5000);
      deepEq(r3, { err: null, responses: [] }, "ask-room on an empty room");
    },
  },

  {
    // volatile packets may be dropped when the transport is busy, never duplicated or
    // reordered; on an idle websocket they get through.
    name: "volatile",
    async run(ctx) {
      const { socket } = await ctx.connect("/", { transports: ["websocket"] });
      const ev = ctx.uid("vol");
      const rec = recorder(socket, ev);
      for (let i = 0; i < 5; i++) {
        await fence(socket);
        await sleep(30);
        socket.emit("volatile", ev, i, { v: true });
      }
      await waitUntil(() => rec.length >= 1, 3000, "at least one volatile event");
      await sleep(100);
      await fence(socket);
      const seen = rec.map((a) => a[0]);
      ok(seen.length >= 1 && seen.length <= 5, `volatile deliveries: ${JSON.stringify(seen)}`);
      for (let i = 1; i < seen.length; i++) ok(seen[i] > seen[i - 1], `volatile order/duplicates: ${JSON.stringify(seen)}`);
      rec.forEach((a) => jsonEq(a.slice(1), [{ v: true }], "volatile payload"));
      ctx.note(`volatile delivered ${seen.length}/5`);
    },
  },
  {
    // Many clients connecting, joining and receiving at the same time (half polling).
    name: "many-clients",
    async run(ctx) {
      const N = 40;
      const room = ctx.uid("crowd");
      const ev = ctx.uid("crowd-ev");
      const sockets = Array.from({ length: N }, (_, i) => ctx.client("/", { transports: [i % 2 ? "polling" : "websocket"] }));
      const welcomes = await Promise.all(sockets.map((s) => connected(s)));
      eq(new Set(welcomes.map((w) => w.id)).size, N, "distinct socket ids");
      await Promise.all(sockets.map((s) => emitAck(s, 5000, "join", room)));
      const recs = sockets.map((s) => recorder(s, ev));
      // every client broadcasts once to the room: each client gets N events, one per sender
      sockets.forEach((s, i) => s.emit("to", [room], [], ev, i));
      await Promise.all(recs.map((r, i) => r.waitCount(N, 10000, `${N} events at client ${i}`)));
      await Promise.all(sockets.map((s) => fence(s)));
      recs.forEach((r, i) => {
        eq(r.length, N, `events at client ${i}`);
        deepEq(r.map((a) => a[0]).sort((a, b) => a - b), Array.from({ length: N }, (_, k) => k), `senders seen by client ${i}`);
      });
      const [ans] = await emitAck(sockets[0], 5000, "ask-room", ctx.uid("empty"), 1000);
      deepEq(ans, { err: null, responses: [] }, "server still responsive");
    },
  },
];
