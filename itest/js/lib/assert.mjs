// Tiny assertion helpers. Every failure throws an Error whose message is what
// run.mjs prints in the "error" field, so messages say what was expected.
import { isDeepStrictEqual, inspect } from "node:util";

export class AssertionError extends Error {}

export function show(v) {
  return inspect(v, { depth: 6, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 120 });
}

export function fail(msg) {
  throw new AssertionError(msg);
}

export function ok(cond, msg) {
  if (!cond) fail(msg || "assertion failed");
}

export function eq(actual, expected, what = "value") {
  if (!Object.is(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

export function deepEq(actual, expected, what = "value") {
  if (!isDeepStrictEqual(normalize(actual), normalize(expected))) {
    fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

// Compares JSON texts, so object key order matters.
export function jsonEq(actual, expected, what = "value") {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) fail(`${what}: expected JSON ${trunc(e)}, got ${trunc(a)}`);
}

export function oneOf(actual, choices, what = "value") {
  if (!choices.some((c) => Object.is(c, actual))) fail(`${what}: expected one of ${show(choices)}, got ${show(actual)}`);
}

export function between(actual, lo, hi, what = "value") {
  if (!(actual >= lo && actual <= hi)) fail(`${what}: expected within [${lo}, ${hi}], got ${actual}`);
}

function trunc(s, n = 300) {
  if (typeof s !== "string") return String(s);
  return s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s;
}

// Binary values may come back as Buffer, ArrayBuffer or a typed array depending on the
// transport; compare them as Buffers. Everything else is compared structurally.
export function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

export function toBuffer(v) {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new AssertionError(`not binary: ${show(v)}`);
}

function normalize(v) {
  if (isBinary(v)) return { __binary__: toBuffer(v).toString("hex") };
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v)) o[k] = normalize(v[k]);
    return o;
  }
  return v;
}

// Checks that every place where `expected` holds binary data, `actual` holds binary
// data with the same bytes (not, e.g., a {type:"Buffer",data:[…]} object or a base64 string).
export function binaryEq(actual, expected, what = "value") {
  walk(actual, expected, what);
  function walk(a, e, path) {
    if (isBinary(e)) {
      if (!isBinary(a)) fail(`${path}: expected binary data, got ${show(a)}`);
      const ab = toBuffer(a);
      const eb = toBuffer(e);
      if (!ab.equals(eb)) fail(`${path}: bytes differ: expected ${eb.toString("hex")}, got ${ab.toString("hex")}`);
      return;
    }
    if (Array.isArray(e)) {
      if (!Array.isArray(a) || a.length !== e.length) fail(`${path}: expected array of ${e.length}, got ${show(a)}`);
      e.forEach((x, i) => walk(a[i], x, `${path}[${i}]`));
      return;
    }
    if (e && typeof e === "object") {
      if (!a || typeof a !== "object" || isBinary(a) || Array.isArray(a)) fail(`${path}: expected object, got ${show(a)}`);
      const ek = Object.keys(e);
      const ak = Object.keys(a);
      if (ek.join("\u0000") !== ak.join("\u0000")) fail(`${path}: expected keys ${show(ek)}, got ${show(ak)}`);
      ek.forEach((k) => walk(a[k], e[k], `${path}.${k}`));
      return;
    }
    if (!Object.is(a, e)) fail(`${path}: expected ${show(e)}, got ${show(a)}`);
  }
}
