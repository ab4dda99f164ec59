#!/usr/bin/env node
// Cluster interop check, run by itest (Go): a Node.js socket.io 4.8 server
// with @socket.io/redis-adapter 8.3 joins a cluster of Switchboard edges on
// one Redis, and @socket.io/redis-emitter 5.1 publishes into it.
//
//   node interop/cluster.mjs --redis redis://127.0.0.1:P --edge http://127.0.0.1:E1 [--edge ...]
//
// Each check prints "PASS <name>" or "FAIL <name>: <why>"; the process exits
// non-zero when one failed. The edges run with --demo-handlers (join and
// broadcast events) and namespace /chat.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import { createAdapter } from "@socket.io/redis-adapter";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

const args = { edges: [] };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  if (a === "--redis") args.redis = process.argv[++i];
  else if (a === "--edge") args.edges.push(process.argv[++i]);
  else {
    console.error(`unknown argument ${a}`);
    process.exit(2);
  }
}
if (!args.redis || args.edges.length === 0) {
  console.error("usage: cluster.mjs --redis URL --edge URL [--edge URL...]");
  process.exit(2);
}

const failures = [];
const cleanups = [];
const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms))]);

async function check(name, fn) {
  try {
    await withTimeout(fn(), 8000, name);
    console.log(`PASS ${name}`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${e && e.message ? e.message : e}`);
  }
}

function once(socket, event) {
  return new Promise((resolve) => socket.once(event, (...a) => resolve(a)));
}

function expectNone(socket, event, ms) {
  return new Promise((resolve, reject) => {
    const h = (...a) => reject(new Error(`unexpected ${event} ${JSON.stringify(a)}`));
    socket.on(event, h);
    setTimeout(() => {
      socket.off(event, h);
      resolve();
    }, ms);
  });
}

async function client(url) {
  const s = connect(url + "/chat", { transports: ["websocket"], reconnection: false, forceNew: true });
  cleanups.push(() => s.close());
  await once(s, "connect");
  return s;
}

async function main() {
  const pub = createClient({ url: args.redis });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  cleanups.push(() => pub.quit(), () => sub.quit());

  // The Node.js member of the cluster.
  const httpServer = createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub, { requestsTimeout: 3000 }) });
  const chat = io.of("/chat");
  chat.on("connection", (socket) => {
    socket.on("join", (room, ack) => {
      socket.join(room);
      if (typeof ack === "function") ack([...socket.rooms]);
    });
  });
  await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
  cleanups.push(() => io.close());
  const nodeURL = `http://127.0.0.1:${httpServer.address().port}`;

  const edge = await client(args.edges[0]);
  await edge.emitWithAck("join", "r");
  const onNode = await client(nodeURL);
  await onNode.emitWithAck("join", "r");
  // Give the adapters a moment: room membership is local, subscriptions are not.
  await new Promise((r) => setTimeout(r, 200));

  await check("node broadcast reaches a Switchboard client", async () => {
    const got = once(edge, "from-node");
    chat.to("r").emit("from-node", 1, { b: Buffer.from([1, 2]) });
    const [n, obj] = await got;
    if (n !== 1 || !obj || !obj.b || Buffer.from(obj.b).toString("hex") !== "0102") throw new Error(`got ${JSON.stringify([n, obj])}`);
  });

  await check("Switchboard broadcast reaches a Node.js client", async () => {
    const got = once(onNode, "msg");
    edge.emit("broadcast", "r", "from-edge");
    const [v] = await got;
    if (v !== "from-edge") throw new Error(`got ${JSON.stringify(v)}`);
  });

  await check("node fetchSockets sees the Switchboard sockets", async () => {
    const t0 = Date.now();
    const socks = await chat.in("r").fetchSockets();
    const ids = socks.map((s) => s.id);
    if (!ids.includes(edge.id) || !ids.includes(onNode.id)) throw new Error(`got ${JSON.stringify(ids)}`);
    const remote = socks.find((s) => s.id === edge.id);
    if (!remote.rooms.has("r")) throw new Error(`remote rooms ${JSON.stringify([...remote.rooms])}`);
    if (Date.now() - t0 > 2500) throw new Error(`took ${Date.now() - t0} ms: some node did not answer`);
  });

  await check("node socketsJoin reaches a Switchboard socket", async () => {
    await chat.in(edge.id).socketsJoin("joined-by-node");
    await new Promise((r) => setTimeout(r, 200));
    const got = once(edge, "after-join");
    chat.to("joined-by-node").emit("after-join");
    await got;
  });

  await check("node except leaves out a Switchboard socket", async () => {
    const none = expectNone(edge, "not-you", 300);
    const got = once(onNode, "not-you");
    chat.to("r").except(edge.id).emit("not-you");
    await got;
    await none;
  });

  const emitter = new Emitter(pub).of("/chat");
  await check("emitter broadcast reaches a Switchboard client", async () => {
    const got = once(edge, "from-emitter");
    emitter.to("r").emit("from-emitter", "e");
    const [v] = await got;
    if (v !== "e") throw new Error(`got ${JSON.stringify(v)}`);
  });

  await check("emitter socketsJoin and disconnectSockets reach a Switchboard client", async () => {
    emitter.in(edge.id).socketsJoin("emitter-room");
    await new Promise((r) => setTimeout(r, 200));
    const got = once(edge, "in-emitter-room");
    emitter.to("emitter-room").emit("in-emitter-room");
    await got;
    const gone = once(edge, "disconnect");
    emitter.in("emitter-room").disconnectSockets();
    const [reason] = await gone;
    if (reason !== "io server disconnect") throw new Error(`reason ${reason}`);
  });
}

try {
  await main();
} catch (e) {
  failures.push("setup");
  console.log(`FAIL setup: ${e && e.stack ? e.stack : e}`);
}
for (const c of cleanups.reverse()) {
  try {
    await c();
  } catch {}
}
console.log(failures.length === 0 ? "ALL PASSED" : `FAILED: ${failures.join(", ")}`);
process.exit(failures.length === 0 ? 0 : 1);
