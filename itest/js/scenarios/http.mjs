// Plain-HTTP checks of the polling endpoint that the browser client depends on (CORS).
import http from "node:http";
import { ok, eq } from "../lib/assert.mjs";

function request(url, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${method} ${url}: timeout`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export default [
  {
    name: "cors-polling",
    async run(ctx) {
      const origin = "http://example.test:8080";
      const u = `${ctx.url}/socket.io/?EIO=4&transport=polling`;
      const pre = await request(u, {
        method: "OPTIONS",
        headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
      });
      ok(pre.status >= 200 && pre.status < 300, `preflight status ${pre.status}`);
      const acao = pre.headers["access-control-allow-origin"];
      ok(acao === "*" || acao === origin, `preflight Access-Control-Allow-Origin: ${acao}`);
      const methods = pre.headers["access-control-allow-methods"];
      ok(methods === undefined || /POST/i.test(methods), `preflight Access-Control-Allow-Methods: ${methods}`);

      const hs = await request(u, { headers: { Origin: origin } });
      eq(hs.status, 200, "handshake status");
      const acao2 = hs.headers["access-control-allow-origin"];
      ok(acao2 === "*" || acao2 === origin, `handshake Access-Control-Allow-Origin: ${acao2}`);
      ok(hs.body.startsWith("0{"), `handshake body: ${hs.body.slice(0, 80)}`);
      const open = JSON.parse(hs.body.slice(1));
      const su = `${u}&sid=${encodeURIComponent(open.sid)}`;
      // a cross-origin POST on the session also carries the CORS header
      const post = await request(su, { method: "POST", headers: { Origin: origin, "Content-Type": "text/plain;charset=UTF-8" }, body: "1" });
      eq(post.status, 200, "POST status");
      const acao3 = post.headers["access-control-allow-origin"];
      ok(acao3 === "*" || acao3 === origin, `POST Access-Control-Allow-Origin: ${acao3}`);
      ctx.note(`preflight ${pre.status}, ACAO ${acao}/${acao2}/${acao3}`);
    },
  },
];
