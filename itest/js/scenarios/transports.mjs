// Transports: default polling→websocket upgrade, websocket-only, polling-only,
// polling POST splitting, namespace multiplexing over one Engine.IO session.
import { ok, eq, deepEq, jsonEq, binaryEq } from "../lib/assert.mjs";
import { recorder, emitAck, waitUntil, waitEvent, connected, fence, sleep } from "../lib/ctx.mjs";

const range = (n) => Array.from({ length: n }, (_, i) => i);

function checkHandshake(ctx, h, upgrades) {
  ok(h, "no Engine.IO handshake observed");
  deepEq(Object.keys(h).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"], "open packet keys");
  ok(typeof h.sid === "string" && h.sid.length > 0, `open packet sid: ${h.sid}`);
  deepEq(h.upgrades, upgrades, "open packet upgrades");
  eq(h.pingInterval, ctx.hb.interval, "open packet pingInterval");
  eq(h.pingTimeout, ctx.hb.timeout, "open packet pingTimeout");
  eq(h.maxPayload, 1000000, "open packet maxPayload");
}

// Default transports: polling, then upgrade to websocket. A stream of numbered events
// (plain echo and echo-with-ack, interleaved) is emitted from the moment the socket
// connects until well after the upgrade; everything must come back once and in order.
// With `gateProbe` the client's websocket probe is held back until 50 pairs went out
// over polling (a slow websocket handshake), so the stream deterministically spans
// polling → upgrading (client buffers) → websocket.
function upgradeScenario(name, gateProbe) {
  return {
    name,
    async run(ctx) {
      const socket = ctx.client("/");
      const engine = socket.io.engine;
      let handshake;
      engine.once("handshake", (h) => (handshake = h));
      let releaseProbe = () => {};
      if (gateProbe) {
        const gate = new Promise((r) => (releaseProbe = r));
        const probe = engine._probe;
        engine._probe = function (...a) {
          gate.then(() => probe.apply(this, a));
        };
      }
      const echoes = recorder(socket, "echo");
      const acked = [];
      const phases = { polling: 0, upgrading: 0, websocket: 0 };
      let upgradingSeen = false;
      let upgradeSeen = false;
      let seq = 0;
      let afterUpgrade = 0;
      const emitPair = () => {
        const i = seq++;
        const phase = engine.upgrading ? "upgrading" : engine.transport.name;
        phases[phase] = (phases[phase] || 0) + 1;
        if (upgradeSeen) afterUpgrade++;
        socket.emit("echo", "plain", i);
        socket.emit("echo", "ack", i, (...r) => acked.push(r));
        if (gateProbe && phases.polling >= 50) releaseProbe();
      };
      engine.on("upgrading", () => {
        upgradingSeen = true;
        for (let k = 0; k < 10; k++) emitPair(); // buffered by the client while it pauses polling
      });
      engine.on("upgrade", () => {
        upgradeSeen = true;
        for (let k = 0; k < 10; k++) emitPair(); // flushed right after the "5" upgrade packet
      });
      let stopped = false;
      let failure;
      const pump = () => {
        if (stopped || ctx.closed) return;
        try {
          emitPair();
        } catch (e) {
          failure = e;
          return;
        }
        const done = (seq >= 200 && upgradeSeen && afterUpgrade >= 20) || seq >= 3000;
        if (done) stopped = true;
        else setTimeout(pump, 1);
      };
      await waitEvent(socket, "connect", 5000, "connect");
      pump();
      await waitUntil(() => stopped || failure, 10000, "the event stream to span the upgrade");
      if (failure) throw failure;
      ok(upgradingSeen, "no 'upgrading' event");
      ok(upgradeSeen, "the client never upgraded to websocket");
      eq(engine.transport.name, "websocket", "transport after upgrade");
      const n = seq;
      let lastRx = Date.now();
      let rxCount = 0;
      socket.io.engine.on("packet", () => {
        lastRx = Date.now();
        rxCount++;
      });
      try {
        await waitUntil(() => echoes.length >= n && acked.length >= n, 8000, `all ${n} echoes and acks`);
      } catch (e) {
        const eng = socket.io.engine;
        throw new Error(
          `${e.message} (have ${echoes.length} echoes, ${acked.length} acks; engine ${eng.readyState}/${eng.transport && eng.transport.name}` +
            ` writable=${eng.transport && eng.transport.writable} upgrading=${eng.upgrading} writeBuffer=${eng.writeBuffer.length}` +
            ` sendBuffer=${socket.sendBuffer.length} connected=${socket.connected} lastRx ${Date.now() - lastRx} ms ago, rx=${rxCount}; phases ${JSON.stringify(phases)})`,
        );
      }
      await fence(socket);
      eq(echoes.length, n, "number of plain echoes (exactly once)");
      eq(acked.length, n, "number of acks (exactly once)");
      const echoSeq = echoes.map((a) => (a[0] === "plain" ? a[1] : `bad:${JSON.stringify(a)}`));
      const ackSeq = acked.map((a) => (a[0] === "ack" ? a[1] : `bad:${JSON.stringify(a)}`));
      deepEq(echoSeq, range(n), "plain echo order");
      deepEq(ackSeq, range(n), "ack order");
      checkHandshake(ctx, handshake, ["websocket"]);
      ok(phases.websocket > 0, "no event emitted after the upgrade");
      if (gateProbe) ok(phases.polling >= 50, `only ${phases.polling} pairs emitted over polling`);
      ctx.note(`pairs=${n} emitted while polling=${phases.polling} upgrading=${phases.upgrading} websocket=${phases.websocket}`);
    },
  };
}

export default [
  upgradeScenario("default-transports", false),
  upgradeScenario("upgrade-ordering", true),

  {
    name: "websocket-only",
    async run(ctx) {
      const socket = ctx.client("/", { transports: ["websocket"] });
      let handshake;
      socket.io.engine.once("handshake", (h) => (handshake = h));
      const welcome = await connected(socket);
      eq(socket.io.engine.transport.name, "websocket", "transport at connect");
      checkHandshake(ctx, handshake, []);
      eq(welcome.nsp, "/", "welcome.nsp");
      eq(welcome.id, socket.id, "welcome.id == socket.id");
      eq(welcome.recovered, false, "welcome.recovered");
      jsonEq(welcome.auth, {}, "welcome.auth");
      ok(socket.id !== handshake.sid, "socket id must not be the Engine.IO sid");

      const r = await emitAck(socket, 3000, "echo", 1, "two", { three: [3] });
      jsonEq(r, [1, "two", { three: [3] }], "ack args");
      const echoes = recorder(socket, "echo");
      for (let i = 0; i < 50; i++) socket.emit("echo", i, `s${i}`);
      await echoes.waitCount(50);
      await fence(socket);
      jsonEq(echoes, range(50).map((i) => [i, `s${i}`]), "plain echoes");
      eq(socket.io.engine.transport.name, "websocket", "transport at end");
    },
  },

  {
    name: "polling-only",
    async run(ctx) {
      const socket = ctx.client("/", { transports: ["polling"] });
      let handshake;
      socket.io.engine.once("handshake", (h) => (handshake = h));
      await connected(socket);
      eq(socket.io.engine.transport.name, "polling", "transport");
      checkHandshake(ctx, handshake, ["websocket"]);

      // Many small packets in one go: the client batches them into few POSTs,
      // the server batches the replies into few GET responses.
      const echoes = recorder(socket, "echo");
      const acked = [];
      for (let i = 0; i < 300; i++) {
        socket.emit("echo", i);
        socket.emit("echo", "a", i, (...r) => acked.push(r));
      }
      await waitUntil(() => echoes.length >= 300 && acked.length >= 300, 8000, `300 echoes + 300 acks (have ${echoes.length}, ${acked.length})`);
      await fence(socket);
      jsonEq(echoes, range(300).map((i) => [i]), "plain echoes in order, once each");
      jsonEq(acked, range(300).map((i) => ["a", i]), "acks in order, once each");

      // binary both ways
      const buf = Buffer.from([0, 1, 2, 253, 254, 255]);
      const r = await emitAck(socket, 3000, "echo", buf, { nested: [buf] });
      binaryEq(r, [buf, { nested: [buf] }], "binary ack over polling");
      const e2 = recorder(socket, "echo");
      socket.emit("echo", "bin", buf);
      await e2.waitCount(1);
      binaryEq(e2[0], ["bin", buf], "binary event from server over polling");
      const [b] = await emitAck(socket, 3000, "binary");
      binaryEq(b, { a: Buffer.from([1, 2, 3]), list: [{ b: Buffer.from([4, 5]) }, "x", Buffer.from([6])] }, "binary handler result");
      eq(socket.io.engine.transport.name, "polling", "transport at end");
    },
  },

  {
    // The client splits its polling POSTs so each stays under maxPayload (1e6);
    // every packet must arrive once, in order.
    name: "polling-post-split",
    async run(ctx) {
      const socket = ctx.client("/", { transports: ["polling"] });
      await connected(socket);
      const chunk = (i) => String.fromCharCode(97 + (i % 26)).repeat(50000) + i;
      const results = [];
      const N = 24; // 24 × ~50 KB ≈ 1.2 MB > maxPayload
      let lost = null;
      socket.on("disconnect", (r) => (lost = r));
      for (let i = 0; i < N; i++) socket.emit("echo", i, chunk(i), (...r) => results.push(r));
      await waitUntil(() => results.length >= N || lost, 10000, `${N} acks (have ${results.length})`);
      ok(!lost, `disconnected ("${lost}") after ${results.length} acks`);
      for (let i = 0; i < N; i++) {
        eq(results[i][0], i, `ack #${i} index`);
        ok(results[i][1] === chunk(i), `ack #${i} payload differs (len ${results[i][1] && results[i][1].length})`);
      }
      ok(socket.connected, "still connected");
    },
  },

  {
    name: "multiplex",
    async run(ctx) {
      const m = ctx.manager();
      const root = m.socket("/");
      const custom = m.socket("/custom");
      const [w1, w2] = await Promise.all([connected(root), connected(custom)]);
      ok(root.io === custom.io, "both sockets must share the Manager");
      eq(w1.nsp, "/", "welcome.nsp on /");
      eq(w2.nsp, "/custom", "welcome.nsp on /custom");
      eq(w1.id, root.id, "welcome.id on /");
      eq(w2.id, custom.id, "welcome.id on /custom");
      ok(root.id !== custom.id, `the two namespaces must get different socket ids (${root.id})`);
      const engineId = m.engine.id;
      ok(typeof engineId === "string" && engineId.length > 0, "engine id");

      const [r1] = await emitAck(root, 3000, "rooms");
      const [r2] = await emitAck(custom, 3000, "rooms");
      deepEq(r1, [root.id], "rooms of / socket");
      deepEq(r2, [custom.id], "rooms of /custom socket");
      jsonEq(await emitAck(root, 3000, "echo", "from-root"), ["from-root"], "echo on /");
      jsonEq(await emitAck(custom, 3000, "echo", "from-custom"), ["from-custom"], "echo on /custom");

      // A whole-namespace broadcast on /custom does not leak into /
      const ev = ctx.uid("mx");
      const onRoot = recorder(root, ev);
      const onCustom = recorder(custom, ev);
      custom.emit("to", [], [], ev, 1);
      await onCustom.waitCount(1);
      await fence(root);
      eq(onRoot.length, 0, "events of /custom seen on /");

      // Leaving one namespace keeps the Engine.IO session for the other.
      custom.disconnect();
      await sleep(100);
      jsonEq(await emitAck(root, 3000, "echo", "still"), ["still"], "echo on / after /custom left");
      eq(m.engine.id, engineId, "engine id after /custom left");
      ok(root.connected, "/ still connected");

      // And re-joining /custom happens on the same session.
      // (Manager#socket() re-opens an inactive socket by itself.)
      const again = m.socket("/custom");
      ok(again === custom, "manager reuses the /custom socket object");
      const w3 = await connected(again);
      eq(w3.nsp, "/custom", "welcome.nsp after re-join");
      ok(w3.id !== w2.id, "a re-joined namespace gets a new socket id");
      eq(m.engine.id, engineId, "engine id after re-join");
    },
  },
];
