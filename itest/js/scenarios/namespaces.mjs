// Namespaces: middleware CONNECT_ERROR with data, invalid and dynamic namespaces.
import { ok, eq, deepEq, jsonEq } from "../lib/assert.mjs";
import { emitAck, connected, connectError, fence, recorder, sleep, waitEvent } from "../lib/ctx.mjs";

export default [
  {
    name: "connect-error-middleware",
    async run(ctx) {
      for (const [label, opts] of [
        ["wrong token (websocket)", { transports: ["websocket"], auth: { token: "nope" } }],
        ["no auth (polling)", { transports: ["polling"] }],
      ]) {
        const socket = ctx.client("/auth", opts);
        const err = await connectError(socket);
        eq(err.message, "unauthorized", `${label}: err.message`);
        deepEq(err.data, { code: 401, reason: "bad token" }, `${label}: err.data`);
        eq(socket.connected, false, `${label}: connected`);
        eq(socket.active, false, `${label}: a refused socket is not retried`);
      }

      // right token: connects; handshake.auth is the auth object, unchanged
      const auth = { token: "secret", user: { name: "zoë", roles: ["a", "b"] }, n: 1 };
      const { socket, welcome } = await ctx.connect("/auth", { transports: ["websocket"], auth });
      eq(welcome.nsp, "/auth", "welcome.nsp");
      eq(welcome.id, socket.id, "welcome.id");
      jsonEq(welcome.auth, auth, "welcome.auth");
      jsonEq(await emitAck(socket, 3000, "echo", "in"), ["in"], "echo on /auth");

      // auth given as a callback
      const { welcome: w2 } = await ctx.connect("/auth", { transports: ["polling"], auth: (cb) => cb({ token: "secret" }) });
      jsonEq(w2.auth, { token: "secret" }, "welcome.auth (callback)");

      // on a multiplexed Manager a refused namespace does not hurt the others
      const m = ctx.manager({ transports: ["websocket"] });
      const root = m.socket("/");
      await connected(root);
      const bad = m.socket("/auth", { auth: { token: "bad" } });
      const e2 = await connectError(bad);
      eq(e2.message, "unauthorized", "multiplexed: err.message");
      deepEq(e2.data, { code: 401, reason: "bad token" }, "multiplexed: err.data");
      jsonEq(await emitAck(root, 3000, "echo", "still"), ["still"], "multiplexed: / still works");
      const good = m.socket("/custom");
      const w3 = await connected(good);
      eq(w3.nsp, "/custom", "multiplexed: /custom after a refused /auth");
    },
  },

  {
    name: "invalid-namespace",
    async run(ctx) {
      for (const t of ["websocket", "polling"]) {
        const socket = ctx.client("/nope", { transports: [t] });
        const err = await connectError(socket);
        eq(err.message, "Invalid namespace", `${t}: err.message`);
        eq(err.data, undefined, `${t}: err.data`);
        eq(socket.active, false, `${t}: refused socket not retried`);
      }
      // multiplexed: an invalid namespace does not close the shared session
      const m = ctx.manager({ transports: ["websocket"] });
      const root = m.socket("/");
      await connected(root);
      const eid = m.engine.id;
      const err = await connectError(m.socket("/nope"));
      eq(err.message, "Invalid namespace", "multiplexed: err.message");
      jsonEq(await emitAck(root, 3000, "echo", 1), [1], "multiplexed: / still works");
      eq(m.engine.id, eid, "multiplexed: same Engine.IO session");
    },
  },

  {
    name: "dynamic-namespace",
    async run(ctx) {
      const { socket: a, welcome } = await ctx.connect("/dyn-abc1", { transports: ["websocket"] });
      eq(welcome.nsp, "/dyn-abc1", "welcome.nsp");
      eq(welcome.id, a.id, "welcome.id");
      const { socket: b } = await ctx.connect("/dyn-abc1", { transports: ["polling"] });
      const { socket: c, welcome: wc } = await ctx.connect("/dyn-xyz2", { transports: ["websocket"] });
      eq(wc.nsp, "/dyn-xyz2", "welcome.nsp of a second dynamic namespace");
      // a whole-namespace broadcast stays inside the child namespace
      const ev = ctx.uid("dyn");
      const ra = recorder(a, ev);
      const rb = recorder(b, ev);
      const rc = recorder(c, ev);
      b.emit("to", [], [], ev, "hello");
      await Promise.all([ra.waitCount(1), rb.waitCount(1)]);
      await Promise.all([fence(a), fence(b), fence(c)]);
      eq(ra.length, 1, "deliveries to a");
      eq(rb.length, 1, "deliveries to b");
      eq(rc.length, 0, "deliveries to the other dynamic namespace");
      jsonEq(await emitAck(a, 3000, "echo", "d"), ["d"], "echo in a dynamic namespace");

      for (const nsp of ["/dyn-", "/dyn-ABC", "/dyn-abc/x"]) {
        const err = await connectError(ctx.client(nsp, { transports: ["websocket"] }));
        eq(err.message, "Invalid namespace", `${nsp}: err.message`);
      }
    },
  },
  {
    // After a transport drop the client reconnects and sends its auth again; the
    // namespace middleware runs again (no recovery on this server).
    name: "auth-on-reconnect",
    async run(ctx) {
      const opts = { transports: ["websocket"], reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 200, randomizationFactor: 0 };
      const auth = { token: "secret", v: 1 };
      const socket = ctx.client("/auth", { ...opts, auth });
      const w1 = await connected(socket);
      jsonEq(w1.auth, auth, "welcome.auth");
      let d = waitEvent(socket, "disconnect", 5000, "disconnect");
      socket.emit("drop-transport");
      await d;
      const w2 = await connected(socket);
      jsonEq(w2.auth, auth, "welcome.auth after reconnect");
      ok(w2.id !== w1.id, "a new socket id after reconnect");

      // a token that became invalid is refused on the next reconnection, and the
      // refused socket is not retried
      d = waitEvent(socket, "disconnect", 5000, "disconnect");
      socket.auth = { token: "revoked" };
      const errP = connectError(socket);
      socket.emit("drop-transport");
      await d;
      const err = await errP;
      eq(err.message, "unauthorized", "connect_error on reconnect");
      deepEq(err.data, { code: 401, reason: "bad token" }, "connect_error data on reconnect");
      await sleep(600);
      eq(socket.active, false, "refused socket is not retried");
      eq(socket.connected, false, "refused socket connected");
    },
  },
];
