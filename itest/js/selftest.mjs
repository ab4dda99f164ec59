#!/usr/bin/env node
// Validates the scenarios against the Node.js reference server: starts
// `refserver.mjs` and `refserver.mjs --recovery` on free loopback ports, runs
// run.mjs against them --repeat times (default 1), prints a summary and stops the
// servers. Extra arguments after `--` go to run.mjs (e.g. -- --only rooms).
//
//   node selftest.mjs [--repeat N] [-- run.mjs args…]
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
const own = sep === -1 ? argv : argv.slice(0, sep);
const passthrough = sep === -1 ? [] : argv.slice(sep + 1);
let repeat = 1;
for (let i = 0; i < own.length; i++) {
  if (own[i] === "--repeat") repeat = Number(own[++i]);
  else {
    process.stderr.write("usage: node selftest.mjs [--repeat N] [-- run.mjs args…]\n");
    process.exit(2);
  }
}
if (!(repeat >= 1)) process.exit(2);

function startServer(extra) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, "refserver.mjs"), "--port", "0", ...extra], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let buf = "";
    const timer = setTimeout(() => reject(new Error("refserver did not start within 10 s")), 10000);
    child.stdout.on("data", (d) => {
      buf += d;
      const m = /LISTENING (\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.on("exit", (code) => reject(new Error(`refserver exited early (${code})`)));
  });
}

function runOnce(args) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [join(here, "run.mjs"), ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on("exit", (code) => {
      const lines = out
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      resolve({ code, lines, ms: Date.now() - t0 });
    });
  });
}

const servers = [];
let exitCode = 0;
try {
  const plain = await startServer([]);
  servers.push(plain.child);
  const rec = await startServer(["--recovery"]);
  servers.push(rec.child);
  const args = ["--url", `http://127.0.0.1:${plain.port}`, "--recovery-url", `http://127.0.0.1:${rec.port}`, ...passthrough];
  const summary = [];
  for (let i = 1; i <= repeat; i++) {
    const r = await runOnce(args);
    const ok = r.lines.filter((l) => l.ok).length;
    const failed = r.lines.filter((l) => !l.ok).map((l) => l.name);
    summary.push(`run ${i}: exit ${r.code}, ${ok}/${r.lines.length} ok in ${(r.ms / 1000).toFixed(1)} s${failed.length ? `, failed: ${failed.join(", ")}` : ""}`);
    if (r.code !== 0) exitCode = 1;
  }
  process.stderr.write(summary.join("\n") + "\n");
} catch (e) {
  process.stderr.write(`selftest: ${e.message}\n`);
  exitCode = 1;
} finally {
  for (const s of servers) s.kill("SIGTERM");
}
process.exit(exitCode);
