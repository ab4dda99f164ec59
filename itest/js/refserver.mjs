#!/usr/bin/env node
// Reference implementation of the Switchboard compatibility "test server contract"
// (see README.md), built on the Node.js socket.io server. The Go test fixture
// implements the same contract; run.mjs is validated against this file.
//
//   node refserver.mjs --port P [--recovery]
//
// Prints "LISTENING <port>" on stdout once it accepts connections (P may be 0).
import { createServer } from "node:http";
import { Server } from "socket.io";

function parseArgs(argv) {
  const out = { port: 3000, recovery: false, host: "127.0.0.1", exitOnStdinEOF: false, pingInterval: 500, pingTimeout: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--port") out.port = Number(argv[++i]);
    else if (a === "--host") out.host = argv[++i];
    else if (a === "--recovery") out.recovery = true;
    else if (a === "--exit-on-stdin-eof") out.exitOnStdinEOF = true;
    // Test-only knobs; the contract values are the defaults (500 / 1000).
    else if (a === "--ping-interval") out.pingInterval = Number(argv[++i]);
    else if (a === "--ping-timeout") out.pingTimeout = Number(argv[++i]);
    else if (a === "--help" || a === "-h") {
      process.stdout.write("usage: node refserver.mjs --port P [--recovery] [--host 127.0.0.1] [--exit-on-stdin-eof] [--ping-interval 500] [--ping-timeout 1000]\n");
      process.exit(0);
    } else {
      process.stderr.write(`unknown argument: ${a}\n`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535) {
    process.stderr.write("--port must be an integer in [0, 65535]\n");
    process.exit(2);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));

const options = {
  path: "/socket.io/",
  pingInterval: args.pingInterval,
  pingTimeout: args.pingTimeout,
  maxHttpBufferSize: 1e6,
  cors: { origin: "*" },
  // connectTimeout: default (45000 ms)
};
if (args.recovery) {
  options.connectionStateRecovery = {
    maxDisconnectionDuration: 10000,
    skipMiddlewares: true,
  };
}

const httpServer = createServer();
const io = new Server(httpServer, options);

const sortedRooms = (socket) => Array.from(socket.rooms).sort();
const isFn = (f) => typeof f === "function";

function commonHandlers(socket) {
  const nsp = socket.nsp;

  // Emitted on every connection, including recovered ones (recovered: true).
  socket.emit("welcome", {
    nsp: nsp.name,
    id: socket.id,
    auth: socket.handshake.auth,
    recovered: socket.recovered,
  });

  socket.on("echo", (...a) => {
    if (a.length && isFn(a[a.length - 1])) {
      const ack = a.pop();
      ack(...a);
    } else {
      socket.emit("echo", ...a);
    }
  });

  socket.on("join", (room, ack) => {
    socket.join(room);
    if (isFn(ack)) ack(sortedRooms(socket));
  });

  socket.on("leave", (room, ack) => {
    socket.leave(room);
    if (isFn(ack)) ack(sortedRooms(socket));
  });

  socket.on("rooms", (ack) => {
    if (isFn(ack)) ack(sortedRooms(socket));
  });

  socket.on("to", (rooms, except, event, ...rest) => {
    if (!Array.isArray(rooms) || !Array.isArray(except) || typeof event !== "string") return;
    if (rest.length && isFn(rest[rest.length - 1])) rest.pop(); // never forward a function
    nsp.to(rooms).except(except).emit(event, ...rest);
  });

  socket.on("broadcast", (event, ...rest) => {
    if (typeof event !== "string") return;
    if (rest.length && isFn(rest[rest.length - 1])) rest.pop();
    socket.broadcast.emit(event, ...rest);
  });

  socket.on("volatile", (event, ...rest) => {
    if (typeof event !== "string") return;
    if (rest.length && isFn(rest[rest.length - 1])) rest.pop();
    socket.volatile.emit(event, ...rest);
  });

  socket.on("ask", (timeoutMs, ...rest) => {
    if (!rest.length || !isFn(rest[rest.length - 1])) return;
    const ack = rest.pop();
    socket.timeout(Number(timeoutMs)).emit("question", ...rest, (err, ...resp) => {
      ack({ err: err ? err.message : null, resp });
    });
  });

  socket.on("ask-room", (room, timeoutMs, ack) => {
    if (!isFn(ack)) return;
    nsp
      .to(room)
      .timeout(Number(timeoutMs))
      .emit("question-all", (err, responses) => {
        ack({ err: err ? err.message : null, responses });
      });
  });

  socket.on("disconnect-me", (close) => {
    socket.disconnect(close === true);
  });

  socket.on("drop-transport", () => {
    // Closes the Engine.IO session without a Socket.IO DISCONNECT packet.
    socket.conn.close();
  });

  socket.on("binary", (ack) => {
    if (!isFn(ack)) return;
    ack({
      a: Buffer.from([1, 2, 3]),
      list: [{ b: Buffer.from([4, 5]) }, "x", Buffer.from([6])],
    });
  });
}

io.of("/").on("connection", commonHandlers);
io.of("/custom").on("connection", commonHandlers);

const authNsp = io.of("/auth");
authNsp.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token === "secret") return next();
  const err = new Error("unauthorized");
  err.data = { code: 401, reason: "bad token" };
  next(err);
});
authNsp.on("connection", commonHandlers);

io.of(/^\/dyn-[a-z0-9]+$/).on("connection", commonHandlers);

httpServer.on("error", (err) => {
  process.stderr.write(`refserver: ${err.stack || err}\n`);
  process.exit(1);
});

httpServer.listen(args.port, args.host, () => {
  process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
// Optional: exit when stdin reaches EOF (lets a parent that dies take the server with it).
if (args.exitOnStdinEOF) {
  process.stdin.on("end", stop);
  process.stdin.on("error", () => {});
  process.stdin.resume();
}
