// Acknowledgements in both directions, timeouts, pending acks on disconnect, client retries.
// Objects built by the SERVER (e.g. the ask reply) are compared without regard to key
// order; data the client sent and gets echoed back is compared as JSON text (order kept).
import { ok, eq, deepEq, jsonEq, between, oneOf } from "../lib/assert.mjs";
import { emitAck, waitEvent, connected, fence, sleep, slack } from "../lib/ctx.mjs";

const PAYLOAD = [
  1,
  "two",
  { z: 1, a: { y: [1, 2, { q: null }], b: true }, "": "empty key", "ü-ß": "äö", m: { k2: 2, k1: 1 } },
  [],
  {},
  -3.5,
  0,
  9007199254740991,
  -9007199254740991,
  1e-7,
  123456.789,
  "<script>&amp;\"'\\/\n\t\u0001\u001e",
  true,
  false,
  null,
  [[["deep"]], { arr: [{}, [], ""] }],
];

export default [
  {
    name: "ack-client-to-server",
    async run(ctx) {
      const { socket } = await ctx.connect("/", { transports: ["websocket"] });

      // plain ack callback: all args come back, in order, key order preserved
      const r = await new Promise((res) => socket.emit("echo", ...PAYLOAD, (...a) => res(a)));
      jsonEq(r, PAYLOAD, "ack args (callback)");

      // emitWithAck with a timeout resolves with the first ack argument
      const obj = { b: [1, { c: "d" }], a: "x" };
      const v = await socket.timeout(2000).emitWithAck("echo", obj);
      jsonEq(v, obj, "emitWithAck result");

      // an ack with no arguments
      const empty = await new Promise((res) => socket.emit("echo", (...a) => res(a)));
      jsonEq(empty, [], "ack with no args");

      // 100 concurrent acks: each callback gets its own answer (ack id bookkeeping)
      const all = await Promise.all(
        Array.from({ length: 100 }, (_, i) => socket.timeout(3000).emitWithAck("echo", { i, s: `v${i}` })),
      );
      all.forEach((x, i) => jsonEq(x, { i, s: `v${i}` }, `concurrent ack #${i}`));

      // same over polling
      const { socket: p } = await ctx.connect("/", { transports: ["polling"] });
      const rp = await new Promise((res) => p.emit("echo", ...PAYLOAD, (...a) => res(a)));
      jsonEq(rp, PAYLOAD, "ack args over polling");
    },
  },

  {
    name: "ack-server-to-client",
    async run(ctx) {
      const { socket } = await ctx.connect("/", { transports: ["websocket"] });
      let mode = "answer";
      let questions = 0;
      socket.on("question", (...args) => {
        questions++;
        const ack = args.pop();
        if (typeof ack !== "function") return;
        if (mode === "answer") ack({ got: args }, "second", 3);
        else if (mode === "late") setTimeout(() => ack("too late"), 700);
        else if (mode === "reverse") setTimeout(() => ack({ echo: args[0] }), 200 - args[0] * 10);
        // mode "silent": never answer
      });

      // answered
      const [r1] = await emitAck(socket, 5000, "ask", 2000, "a", { b: 1 });
      deepEq(r1, { err: null, resp: [{ got: ["a", { b: 1 }] }, "second", 3] }, "ask reply (answered)");

      // not answered: the server-side timeout fires
      mode = "silent";
      let t0 = Date.now();
      const [r2] = await emitAck(socket, 5000, "ask", 400);
      const el = Date.now() - t0;
      deepEq(r2, { err: "operation has timed out", resp: [] }, "ask reply (no answer)");
      between(el, 380, 400 + slack(7000), "ms until the server-side ack timeout");

      // answered after the timeout: the reply is the timeout, exactly once; the late ack is ignored
      mode = "late";
      let replies = 0;
      t0 = Date.now();
      const r3 = await new Promise((res) =>
        socket.emit("ask", 300, (x) => {
          replies++;
          res(x);
        }),
      );
      deepEq(r3, { err: "operation has timed out", resp: [] }, "ask reply (late answer)");
      await sleep(700);
      await fence(socket);
      eq(replies, 1, "number of ask replies");
      ok(socket.connected, "still connected after a late ack");

      // several outstanding server->client acks answered out of order
      mode = "reverse";
      const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => emitAck(socket, 5000, "ask", 3000, i)));
      rs.forEach(([x], i) => deepEq(x, { err: null, resp: [{ echo: i }] }, `out-of-order ask #${i}`));
      ok(questions >= 13, `questions seen: ${questions}`);

      // over polling too
      const { socket: p } = await ctx.connect("/", { transports: ["polling"] });
      p.on("question", (x, ack) => ack([x, "p"]));
      const [rp] = await emitAck(p, 5000, "ask", 2000, { k: "v" });
      deepEq(rp, { err: null, resp: [[{ k: "v" }, "p"]] }, "ask reply over polling");
    },
  },

  {
    name: "pending-acks-fail-on-disconnect",
    async run(ctx) {
      for (const how of ["disconnect-me", "drop-transport"]) {
        const { socket } = await ctx.connect("/", { transports: ["websocket"] });
        const t0 = Date.now();
        const p1 = new Promise((res) =>
          socket.timeout(30000).emit("no-ack-event", 1, (err, ...r) => res({ err, r, t: Date.now() - t0 })),
        );
        const p2 = socket
          .timeout(30000)
          .emitWithAck("no-ack-event", 2)
          .then(
            (v) => ({ v }),
            (err) => ({ err, t: Date.now() - t0 }),
          );
        let plainCalled = false;
        socket.emit("no-ack-event", 3, () => (plainCalled = true));
        await fence(socket); // the server has seen the three events (and acked none)
        const disc = waitEvent(socket, "disconnect", 5000, "disconnect");
        if (how === "disconnect-me") socket.emit("disconnect-me", false);
        else socket.emit("drop-transport");
        const [reason] = await disc;
        if (how === "disconnect-me") eq(reason, "io server disconnect", "disconnect reason");
        else oneOf(reason, ["transport close", "transport error"], "disconnect reason");
        const a = await p1;
        ok(a.err instanceof Error, `${how}: timeout-ack callback got no error: ${JSON.stringify(a.r)}`);
        eq(a.err.message, "socket has been disconnected", `${how}: callback error`);
        const b = await p2;
        ok(b.err instanceof Error, `${how}: emitWithAck resolved instead of rejecting`);
        eq(b.err.message, "socket has been disconnected", `${how}: emitWithAck error`);
        await sleep(100);
        eq(plainCalled, false, `${how}: plain ack callback (no timeout) must never be called`);
        ctx.note(`${how}: client reason "${reason}", pending acks failed after ${a.t} ms`);
      }
    },
  },

  {
    // Client option retries+ackTimeout: the client re-sends with a new ack id until acked.
    name: "client-retries",
    async run(ctx) {
      const { socket } = await ctx.connect("/", { transports: ["websocket"], ackTimeout: 300, retries: 2 });
      const r = await new Promise((res) => socket.emit("echo", "r1", { x: 1 }, (err, ...a) => res([err, a])));
      eq(r[0], null, "err for an acked emit with retries");
      jsonEq(r[1], ["r1", { x: 1 }], "ack args with retries");
      const t0 = Date.now();
      const err = await new Promise((res) => socket.emit("no-ack-event", "x", (e) => res(e)));
      const el = Date.now() - t0;
      ok(err instanceof Error && err.message === "operation has timed out", `expected a timeout error, got ${err}`);
      between(el, 880, 900 + slack(7000), "ms until retries are exhausted (3 tries x 300 ms)");
      // the queue is drained: later emits still work
      const v = await socket.emitWithAck("echo", "after");
      eq(v, "after", "emitWithAck after exhausted retries");
    },
  },
];
