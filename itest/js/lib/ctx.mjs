// Per-scenario context: creates clients of the real socket.io-client, tracks them and
// closes everything at the end of the scenario, plus small async helpers.
import { io, Manager } from "socket.io-client";
import { randomBytes } from "node:crypto";
import { fail, show } from "./assert.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Liveness waits (waitEvent, waitUntil, emitAck, connected, connectError, fence) use
// max(ms, MIN_WAIT) × scale: the numbers in the scenarios are what a healthy server
// needs, the floor absorbs scheduler stalls on a loaded machine. run.mjs sets the scale
// from --timeout-scale. Assertions on measured durations use slack() for upper bounds.
export const MIN_WAIT = 8000;
let scale = 1;
export function setTimeScale(f) {
  scale = f;
}
export const waitMs = (ms) => Math.round(Math.max(ms || 0, MIN_WAIT) * scale);
export const slack = (ms) => Math.round(ms * scale);

// Resolves with the argument list of the next `event` on `emitter`.
export function waitEvent(emitter, event, ms = 5000, what = `event "${event}"`) {
  ms = waitMs(ms);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`timeout after ${ms} ms waiting for ${what}`));
    }, ms);
    function on(...args) {
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args);
    }
    emitter.on(event, on);
  });
}

// Polls `pred` until it returns a truthy value.
export async function waitUntil(pred, ms = 5000, what = "condition", every = 5) {
  ms = waitMs(ms);
  const end = Date.now() + ms;
  for (;;) {
    const v = pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

// Records every occurrence of `event` on `socket` (argument arrays, in order).
export function recorder(socket, event) {
  const items = [];
  const handler = (...args) => {
    // drop a trailing ack function, keep the data
    if (args.length && typeof args[args.length - 1] === "function") args = args.slice(0, -1);
    items.push(args);
  };
  socket.on(event, handler);
  items.waitCount = (n, ms = 5000, what = `${n} x "${event}"`) =>
    waitUntil(() => items.length >= n, ms, `${what} (have ${items.length})`);
  items.stop = () => socket.off(event, handler);
  return items;
}

// Emits with an ack and a client-side timeout; resolves with ALL ack arguments.
export function emitAck(socket, ms, event, ...args) {
  ms = waitMs(ms);
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, ...args, (err, ...resp) => {
      if (err) reject(new Error(`ack for "${event}" failed: ${err.message}`));
      else resolve(resp);
    });
  });
}

export class Ctx {
  constructor({ url, recoveryUrl, name, pingInterval = 500, pingTimeout = 1000 }) {
    // Heartbeat values the server under test is expected to announce.
    this.hb = { interval: pingInterval, timeout: pingTimeout };
    this.t0 = Date.now();
    // Every "disconnect" of every socket of this scenario (reported with failures).
    this.disconnects = [];
    this.url = url.replace(/\/+$/, "");
    this.recoveryUrl = recoveryUrl ? recoveryUrl.replace(/\/+$/, "") : undefined;
    this.name = name;
    this.sockets = new Set();
    this.managers = new Set();
    this.closed = false;
    this.notes = [];
    // Event-loop lag monitor: the largest delay of a 10 ms timer during the scenario,
    // i.e. how long this process was not scheduled (reported with failures).
    this.maxLag = 0;
    let last = Date.now();
    this._lagTimer = setInterval(() => {
      const now = Date.now();
      this.maxLag = Math.max(this.maxLag, now - last - 10);
      last = now;
    }, 10);
    this._lagTimer.unref();
  }

  uid(prefix = "x") {
    return `${prefix}-${randomBytes(5).toString("hex")}`;
  }

  // Extra facts a scenario wants reported (printed as "notes" in its JSON line).
  note(s) {
    this.notes.push(s);
  }

  _check() {
    if (this.closed) throw new Error("scenario already finished (timed out?)");
  }

  _track(socket) {
    const label = `${socket.nsp}#${this.sockets.size + 1}`;
    this.sockets.add(socket);
    socket.on("disconnect", (reason) => {
      if (!this.closed) this.disconnects.push(`${label} "${reason}" at ${Date.now() - this.t0} ms`);
    });
  }

  // A client socket on its own Manager (forceNew). Reconnection is OFF unless asked for,
  // so an unexpected disconnect shows up as a failure instead of being papered over.
  client(nsp = "/", opts = {}, { base } = {}) {
    this._check();
    const url = (base || this.url) + nsp;
    const socket = io(url, { forceNew: true, reconnection: false, timeout: waitMs(5000), ...opts });
    this._track(socket);
    this.managers.add(socket.io);
    return socket;
  }

  // A Manager that several namespaces can share (multiplexing).
  manager(opts = {}, { base } = {}) {
    this._check();
    const m = new Manager(base || this.url, { reconnection: false, timeout: waitMs(5000), ...opts });
    this.managers.add(m);
    const socket = m.socket.bind(m);
    m.socket = (nsp, o) => {
      const s = socket(nsp, o);
      if (!this.sockets.has(s)) this._track(s);
      return s;
    };
    return m;
  }

  // Creates a client and waits until it is connected AND has received "welcome".
  async connect(nsp = "/", opts = {}, extra = {}) {
    const socket = this.client(nsp, opts, extra);
    const welcome = await connected(socket, extra.timeout);
    return { socket, welcome };
  }

  async cleanup() {
    this.closed = true;
    clearInterval(this._lagTimer);
    for (const s of this.sockets) {
      try {
        s.disconnect();
      } catch {}
    }
    for (const m of this.managers) {
      try {
        m.reconnection(false);
        m._close();
      } catch {}
    }
    this.sockets.clear();
    this.managers.clear();
  }
}

// Waits for "connect" and the contract's "welcome" event on an already created socket.
export function connected(socket, ms = 5000) {
  ms = waitMs(ms);
  return new Promise((resolve, reject) => {
    let welcome;
    let isConnected = socket.connected;
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timeout after ${ms} ms waiting for connect+welcome on ${socket.nsp} (connected=${socket.connected}, welcome=${welcome !== undefined})`));
    }, ms);
    const onConnect = () => {
      isConnected = true;
      check();
    };
    const onWelcome = (w) => {
      welcome = w;
      check();
    };
    const onError = (err) => {
      done();
      reject(new Error(`connect_error on ${socket.nsp}: ${err && err.message} ${err && err.data !== undefined ? show(err.data) : ""}`.trim()));
    };
    function check() {
      if (isConnected && welcome !== undefined) {
        done();
        resolve(welcome);
      }
    }
    function done() {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("welcome", onWelcome);
      socket.off("connect_error", onError);
    }
    socket.on("connect", onConnect);
    socket.on("welcome", onWelcome);
    socket.on("connect_error", onError);
  });
}

// Waits for a connect_error; fails if the socket connects instead.
export function connectError(socket, ms = 5000) {
  ms = waitMs(ms);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timeout after ${ms} ms waiting for connect_error on ${socket.nsp}`));
    }, ms);
    const onErr = (err) => {
      done();
      resolve(err);
    };
    const onConnect = () => {
      done();
      reject(new Error(`expected connect_error on ${socket.nsp}, but it connected`));
    };
    function done() {
      clearTimeout(timer);
      socket.off("connect_error", onErr);
      socket.off("connect", onConnect);
    }
    socket.on("connect_error", onErr);
    socket.on("connect", onConnect);
  });
}

// Round trip through the server on this socket's connection: once it resolves, every
// packet the server wrote to this connection before handling the echo has been delivered.
export async function fence(socket, ms = 5000) {
  const token = `fence-${Math.random().toString(36).slice(2)}`;
  const resp = await emitAck(socket, ms, "echo", token);
  if (resp[0] !== token) fail(`fence: echo returned ${show(resp)}`);
}
