// Binary attachments (nested, both directions, both transports, base64 mode), many
// attachments, large and non-ASCII text payloads.
import { ok, eq, jsonEq, binaryEq, oneOf, fail } from "../lib/assert.mjs";
import { emitAck, recorder, fence } from "../lib/ctx.mjs";

const TRANSPORTS = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"] },
  "websocket-b64": { transports: ["websocket"], forceBase64: true },
};

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function binaryScenario(variant) {
  return {
    name: `binary-nested-${variant}`,
    async run(ctx) {
      const { socket } = await ctx.connect("/", TRANSPORTS[variant]);
      eq(socket.io.engine.transport.name, variant.startsWith("websocket") ? "websocket" : "polling", "transport");

      const data = {
        a: Buffer.from([1, 2, 3]),
        list: [{ b: Buffer.from([4, 5]) }, "mid", [allBytes]],
        s: "x",
        u8: new Uint8Array([7, 8, 9]),
        ab: new Uint8Array([10, 11]).buffer,
        empty: Buffer.alloc(0),
        n: null,
      };
      const expected = {
        a: Buffer.from([1, 2, 3]),
        list: [{ b: Buffer.from([4, 5]) }, "mid", [allBytes]],
        s: "x",
        u8: Buffer.from([7, 8, 9]),
        ab: Buffer.from([10, 11]),
        empty: Buffer.alloc(0),
        n: null,
      };

      // client -> server BINARY_EVENT, server -> client BINARY_ACK
      const r = await emitAck(socket, 5000, "echo", data, "tail", Buffer.from([0xff]));
      binaryEq(r, [expected, "tail", Buffer.from([0xff])], "binary echo via ack");

      // server -> client BINARY_EVENT
      const echoes = recorder(socket, "echo");
      socket.emit("echo", Buffer.from([42]), data);
      await echoes.waitCount(1);
      binaryEq(echoes[0], [Buffer.from([42]), expected], "binary echo via event");

      // the contract's "binary" handler
      const [b] = await emitAck(socket, 5000, "binary");
      binaryEq(b, { a: Buffer.from([1, 2, 3]), list: [{ b: Buffer.from([4, 5]) }, "x", Buffer.from([6])] }, "binary handler");

      // client -> server BINARY_ACK (answering a server question with binary)
      socket.on("question", (ack) => ack({ buf: Buffer.from([1, 0, 1]), nested: [Buffer.from("hi")] }, allBytes));
      const [q] = await emitAck(socket, 5000, "ask", 3000);
      eq(q.err, null, "ask err");
      binaryEq(q.resp, [{ buf: Buffer.from([1, 0, 1]), nested: [Buffer.from("hi")] }, allBytes], "binary ack from the client");

      // interleaving binary and text packets keeps order
      const mixed = recorder(socket, "echo");
      for (let i = 0; i < 20; i++) {
        if (i % 2) socket.emit("echo", i, Buffer.from([i]));
        else socket.emit("echo", i);
      }
      await mixed.waitCount(20);
      await fence(socket);
      eq(mixed.length, 20, "mixed echoes");
      mixed.forEach((args, i) => binaryEq(args, i % 2 ? [i, Buffer.from([i])] : [i], `mixed echo #${i}`));
    },
  };
}

function manyAttachments(variant) {
  return {
    name: `many-attachments-${variant}`,
    async run(ctx) {
      const { socket } = await ctx.connect("/", TRANSPORTS[variant]);
      const bufs = Array.from({ length: 10 }, (_, i) => Buffer.from([i, i, i]));
      const r = await emitAck(socket, 5000, "echo", ...bufs);
      binaryEq(r, bufs, "10 binary args via ack");
      const nested = { list: bufs.map((b, i) => ({ i, b })) };
      const r2 = await emitAck(socket, 5000, "echo", nested);
      binaryEq(r2, [nested], "10 nested attachments via ack");
    },
  };
}

// 11 attachments exceed socket.io-parser's default maxAttachments (10) on the reference
// server. The protocol does not fix a cap, so accept either outcome, but require that the
// connection is not left in a broken half-state and that other clients are unaffected.
const tooManyAttachments = {
  name: "too-many-attachments",
  async run(ctx) {
    const { socket: other } = await ctx.connect("/", { transports: ["websocket"] });
    const { socket } = await ctx.connect("/", { transports: ["websocket"] });
    const bufs = Array.from({ length: 11 }, (_, i) => Buffer.from([i]));
    const outcome = await new Promise((resolve) => {
      socket.once("disconnect", (reason) => resolve({ kind: "disconnect", reason }));
      socket.timeout(3000).emit("echo", ...bufs, (err, ...r) => {
        if (err) resolve({ kind: "ack-error", err: err.message });
        else resolve({ kind: "ack", r });
      });
    });
    if (outcome.kind === "ack") {
      binaryEq(outcome.r, bufs, "11 binary args via ack");
      ctx.note("11 attachments: accepted and echoed");
    } else if (outcome.kind === "disconnect") {
      oneOf(outcome.reason, ["transport close", "transport error", "parse error"], "disconnect reason for 11 attachments");
      ctx.note(`11 attachments: connection closed, client reason "${outcome.reason}"`);
    } else {
      fail(`11 attachments: neither answered nor disconnected (${outcome.err})`);
    }
    jsonEq(await emitAck(other, 3000, "echo", "ok"), ["ok"], "other client still works");
  },
};

const UNI =
  "emoji 😀👍🏽🇫🇷 CJK 漢字かな한국어 RTL עברית مرحبا combining e\u0301 \u2028\u2029 zw\u200b BOM\ufeff " +
  "ctrl \u0000\u0001\u001e\u001f\u007f\u0080 quote\"back\\slash/ <>& 𝄞 \uffff";

function unicodeLarge(variant) {
  return {
    name: `unicode-large-${variant}`,
    async run(ctx) {
      const { socket } = await ctx.connect("/", TRANSPORTS[variant]);
      const big = "0123456789abcdef".repeat(6400); // 100 KiB ASCII
      const bigUni = "漢😀é\u2028".repeat(10000); // ~100 KB of multi-byte UTF-8
      const obj = { "ключ": UNI, "😀": [UNI, { "漢": "字" }] };
      for (const [label, value] of [
        ["unicode", UNI],
        ["object with unicode keys", obj],
        ["100 KiB ascii", big],
        ["~100 KB multi-byte", bigUni],
      ]) {
        const r = await emitAck(socket, 8000, "echo", value);
        if (typeof value === "string") {
          ok(typeof r[0] === "string", `${label}: not a string`);
          ok(Buffer.from(r[0], "utf8").equals(Buffer.from(value, "utf8")), `${label}: ack payload differs (len ${r[0].length} vs ${value.length})`);
        } else jsonEq(r, [value], `${label} via ack`);
        const ev = recorder(socket, "echo");
        socket.emit("echo", value);
        await ev.waitCount(1, 8000);
        ev.stop();
        if (typeof value === "string") ok(ev[0][0] === value, `${label}: event payload differs`);
        else jsonEq(ev[0], [value], `${label} via event`);
      }
    },
  };
}

export default [
  binaryScenario("websocket"),
  binaryScenario("polling"),
  binaryScenario("websocket-b64"),
  manyAttachments("websocket"),
  manyAttachments("polling"),
  tooManyAttachments,
  unicodeLarge("websocket"),
  unicodeLarge("polling"),
];
