#!/usr/bin/env node
// Drives the official socket.io-client through the compatibility scenarios.
//
//   node run.mjs --url http://127.0.0.1:P [--recovery-url http://127.0.0.1:Q]
//                [--only a,b,c] [--list] [--timeout-scale F] [--bail] [--no-retry]
//                [--ping-interval MS] [--ping-timeout MS]
//
// stdout: exactly one JSON line per scenario run:
//   {"name":"…","ok":true|false,"error":"…","ms":N}
// stderr: human-readable notes (facts observed by some scenarios).
// Exit code 0 iff every scenario that ran was ok (and at least one ran).
import { Ctx, setTimeScale } from "./lib/ctx.mjs";
import { scenarios } from "./scenarios/index.mjs";

function usage(code) {
  process.stderr.write(
    "usage: node run.mjs --url http://127.0.0.1:P [--recovery-url http://127.0.0.1:Q] [--only a,b] [--list]\n" +
      "                   [--timeout-scale F] [--bail] [--no-retry] [--ping-interval MS] [--ping-timeout MS]\n",
  );
  process.exit(code);
}

function parseArgs(argv) {
  const o = { url: undefined, recoveryUrl: undefined, only: undefined, list: false, scale: 1, bail: false, pingInterval: 500, pingTimeout: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) usage(2);
      return argv[++i];
    };
    if (a === "--url") o.url = val();
    else if (a === "--recovery-url") o.recoveryUrl = val();
    else if (a === "--only") o.only = val().split(",").map((s) => s.trim()).filter(Boolean);
    else if (a === "--list") o.list = true;
    else if (a === "--timeout-scale") o.scale = Number(val());
    else if (a === "--bail") o.bail = true;
    else if (a === "--no-retry") o.noRetry = true;
    else if (a === "--ping-interval") o.pingInterval = Number(val());
    else if (a === "--ping-timeout") o.pingTimeout = Number(val());
    else if (a === "--help" || a === "-h") usage(0);
    else {
      process.stderr.write(`unknown argument: ${a}\n`);
      usage(2);
    }
  }
  if (!(o.scale > 0) || !(o.pingInterval > 0) || !(o.pingTimeout > 0)) usage(2);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
setTimeScale(opts.scale);

function writeLine(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

async function finish(code) {
  // stdout to a pipe is synchronous on Linux, but wait for the write queue anyway.
  await new Promise((r) => process.stdout.write("", r));
  process.exit(code);
}

if (opts.list) {
  for (const s of scenarios) process.stdout.write(`${s.name}${s.recovery ? " (needs --recovery-url)" : ""}\n`);
  await finish(0);
}

if (!opts.url) usage(2);

let selected;
if (opts.only) {
  const byName = new Map(scenarios.map((s) => [s.name, s]));
  const unknown = opts.only.filter((n) => !byName.has(n));
  if (unknown.length) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(", ")}\n`);
    await finish(2);
  }
  selected = opts.only.map((n) => byName.get(n));
} else {
  // Recovery scenarios are silently left out when there is no recovery server.
  selected = scenarios.filter((s) => !s.recovery || opts.recoveryUrl);
}

process.on("unhandledRejection", (e) => {
  process.stderr.write(`# unhandled rejection: ${e && e.stack ? e.stack : e}\n`);
});
process.on("uncaughtException", (e) => {
  process.stderr.write(`# uncaught exception: ${e && e.stack ? e.stack : e}\n`);
});

const STALL_RETRY_MS = 500;

async function runAttempt(sc) {
  const ctx = new Ctx({
    url: opts.url,
    recoveryUrl: opts.recoveryUrl,
    name: sc.name,
    pingInterval: opts.pingInterval,
    pingTimeout: opts.pingTimeout,
  });
  const limit = Math.round((sc.timeout || 30000) * opts.scale);
  let timer;
  let error = "";
  try {
    await Promise.race([
      sc.run(ctx),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`scenario timed out after ${limit} ms`)), limit);
      }),
    ]);
  } catch (e) {
    error = (e && e.message) || String(e);
  } finally {
    clearTimeout(timer);
    await ctx.cleanup();
  }
  const ok = error === "";
  if (!ok && ctx.disconnects.length) error += ` [disconnects: ${ctx.disconnects.join(", ")}]`;
  if (!ok && ctx.maxLag >= 250) error += ` [runner event loop stalled up to ${ctx.maxLag} ms]`;
  for (const n of ctx.notes) process.stderr.write(`# ${sc.name}: ${n}\n`);
  return { ok, error, maxLag: ctx.maxLag };
}

let allOk = selected.length > 0;
for (const sc of selected) {
  const t0 = Date.now();
  if (sc.recovery && !opts.recoveryUrl) {
    writeLine({ name: sc.name, ok: false, error: "needs --recovery-url", ms: 0 });
    allOk = false;
    if (opts.bail) break;
    continue;
  }
  // One attempt; a failed attempt during which this process itself was not scheduled for
  // STALL_RETRY_MS or more is retried once (see README "Timing and load").
  let attempt;
  for (let n = 1; n <= 2; n++) {
    attempt = await runAttempt(sc);
    if (attempt.ok || opts.noRetry || n === 2 || attempt.maxLag < STALL_RETRY_MS) break;
    process.stderr.write(`# ${sc.name}: attempt ${n} failed while the runner stalled ${attempt.maxLag} ms, retrying: ${attempt.error}\n`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const ms = Date.now() - t0;
  const { ok, error } = attempt;
  if (!ok) allOk = false;
  writeLine({ name: sc.name, ok, error, ms });
  if (!ok && opts.bail) break;
  // let close packets / TCP FINs of this scenario reach the server before the next one
  await new Promise((r) => setTimeout(r, 20));
}

await finish(allOk ? 0 : 1);
