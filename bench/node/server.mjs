// Reference Socket.IO server for the Switchboard benchmark contract
// (internal/loadtest/doc.go). It is the comparison point for `switchboard bench`.
//
//   node server.mjs [--port 3000] [--host 127.0.0.1]
//
// Prints "LISTENING <port>" once it accepts connections (--port 0 picks a free
// port). Stops on SIGINT or SIGTERM.
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "3000" },
    host: { type: "string", default: "127.0.0.1" },
  },
});

const port = Number.parseInt(args.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${args.port}`);
  process.exit(2);
}

const httpServer = createServer();
// Defaults everywhere (pingInterval 25s, pingTimeout 20s, no per-message
// deflate, both transports), so the figures describe a stock deployment.
const io = new Server(httpServer, { serveClient: false });

function attach(nsp) {
  nsp.on("connection", (socket) => {
    // "join"(room) with ack: join the room, then ack true.
    socket.on("join", (room, ack) => {
      socket.join(String(room));
      if (typeof ack === "function") ack(true);
    });
    // "broadcast"(room, payload): emit "msg"(payload) to every socket in the
    // room of this namespace, the sender included if it joined.
    socket.on("broadcast", (room, payload) => {
      socket.nsp.to(String(room)).emit("msg", payload);
    });
    // "echo"(...args) with ack: ack with the same arguments.
    socket.on("echo", (...args) => {
      const ack = args.pop();
      if (typeof ack === "function") ack(...args);
    });
  });
}

attach(io.of("/"));
attach(io.of(/^\/.+$/)); // any other namespace, created on first connect

httpServer.listen(port, args.host, () => {
  console.log(`LISTENING ${httpServer.address().port}`);
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
