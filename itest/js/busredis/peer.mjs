#!/usr/bin/env node
// A Node.js socket.io 4.8 server with @socket.io/redis-adapter 8.3 (classic mode), an
// @socket.io/redis-emitter 5.1 and a socket.io-client connected to the server: the Node side of
// the bus/redis interop test (bus/redis/interop_test.go).
//
//   node peer.mjs --redis redis://127.0.0.1:PORT --key PREFIX
//
// stdout gets one JSON object per line:
//   {"event":"ready","sid":"<client socket id>"}   once the client is connected and in "node-room"
//   {"event":"client","name":ev,"args":[...]}      an event the client received
//   {"event":"sse","name":ev,"args":[...]}          a server-side emit the server received
//   {"id":N,"ok":true,"result":...,"ms":T}         the outcome of command N ({"ok":false,"error":...})
// stdin takes one command per line, {"id":N,"cmd":"...", ...}: see the switch below.
// Binary values appear as {"$bin":"<hex>"}; in commands, {"$bin":"<hex>"} becomes a Buffer.
// The process exits when stdin closes.
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createAdapter } from "@socket.io/redis-adapter";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

const args = { redis: "", key: "socket.io" };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--redis") args.redis = process.argv[++i];
  else if (a === "--key") args.key = process.argv[++i];
  else {
    process.stderr.write(`unknown argument: ${a}\n`);
    process.exit(2);
  }
}

const out = (obj) =>
  process.stdout.write(
    JSON.stringify(obj, (k, v) =>
      v && v.type === "Buffer" && Array.isArray(v.data) ? { $bin: Buffer.from(v.data).toString("hex") } : v,
    ) + "\n",
  );
const revive = (v) => {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
};

const pub = createClient({ url: args.redis });
const sub = pub.duplicate();
const emitterClient = pub.duplicate();
for (const c of [pub, sub, emitterClient]) c.on("error", (err) => process.stderr.write(`redis: ${err}\n`));
await Promise.all([pub.connect(), sub.connect(), emitterClient.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { key: args.key }) });
const emitter = new Emitter(emitterClient, { key: args.key });

io.on("connection", (socket) => {
  socket.data = { from: "node" };
  socket.join("node-room");
});
// Server-side emits from other servers.
io.on("ping-node", (arg, cb) => cb("pong-from-node:" + arg));
io.on("hello-node", (...a) => out({ event: "sse", name: "hello-node", args: a }));

await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
const port = httpServer.address().port;

const client = connect(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false });
client.onAny((name, ...a) => {
  const cb = typeof a[a.length - 1] === "function" ? a.pop() : null;
  out({ event: "client", name, args: a });
  if (cb) cb("client-answer:" + a[0]);
});
await new Promise((resolve, reject) => {
  client.on("connect", resolve);
  client.on("connect_error", reject);
});
// The server joins the room in its connection handler, before the CONNECT reply.
out({ event: "ready", sid: client.id });

async function run(c) {
  const nsp = io.of("/");
  switch (c.cmd) {
    case "emit": // io.to(rooms).emit(ev, ...args)
      (c.rooms && c.rooms.length ? io.to(c.rooms) : io).emit(c.ev, ...revive(c.args || []));
      return null;
    case "fetchSockets": {
      const socks = await (c.rooms && c.rooms.length ? io.in(c.rooms) : io).fetchSockets();
      return socks.map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data, handshake: s.handshake }));
    }
    case "serverSideEmit":
      io.serverSideEmit(c.ev, ...revive(c.args || []));
      return null;
    case "serverSideEmitWithAck":
      return await io.serverSideEmitWithAck(c.ev, ...revive(c.args || []));
    case "socketsJoin":
      io.in(c.in).socketsJoin(c.rooms);
      return null;
    case "socketsLeave":
      io.in(c.in).socketsLeave(c.rooms);
      return null;
    case "allRooms":
      return [...(await nsp.adapter.allRooms())];
    case "serverCount":
      return await nsp.adapter.serverCount();
    case "emitWithAck": // io.to(rooms).timeout(ms).emit(ev, ...args, cb)
      return await new Promise((resolve) =>
        io
          .to(c.rooms)
          .timeout(c.timeout)
          .emit(c.ev, ...revive(c.args || []), (err, responses) => resolve({ err: err ? err.message : null, responses })),
      );
    case "clientRooms": // the client's rooms as the Node server sees them
      return [...(nsp.sockets.get(client.id)?.rooms ?? [])];
    case "emitterEmit":
      (c.rooms && c.rooms.length ? emitter.to(c.rooms) : emitter).emit(c.ev, ...revive(c.args || []));
      return null;
    case "emitterJoin":
      emitter.in(c.in).socketsJoin(c.rooms);
      return null;
    case "emitterServerSideEmit":
      emitter.serverSideEmit(c.ev, ...revive(c.args || []));
      return null;
    default:
      throw new Error(`unknown command ${c.cmd}`);
  }
}

const rl = createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  let c;
  try {
    c = JSON.parse(line);
  } catch (err) {
    out({ ok: false, error: `bad command: ${err}` });
    return;
  }
  const start = Date.now();
  try {
    const result = await run(c);
    out({ id: c.id, ok: true, result, ms: Date.now() - start });
  } catch (err) {
    out({ id: c.id, ok: false, error: String(err && err.message ? err.message : err), ms: Date.now() - start });
  }
});
rl.on("close", async () => {
  client.close();
  io.close();
  await Promise.allSettled([pub.quit(), sub.quit(), emitterClient.quit()]);
  process.exit(0);
});
