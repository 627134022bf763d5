// A reverse proxy in Node, the peer of examples/proxy.rs (issue 12): method,
// target and headers forwarded (Node drops nothing by itself, so the
// hop-by-hop ones are dropped here), X-Forwarded-For added, bodies piped
// both ways, a keep-alive Agent, 502 when the upstream is down, and the
// upstream aborted when the client goes away.
//
//   node benches/peers/proxy_node.js PORT UPSTREAM_URL
const http = require('http');
const [port, upstream] = [Number(process.argv[2] || 8080), new URL(process.argv[3] || 'http://127.0.0.1:9000')];
const agent = new http.Agent({ keepAlive: true });
const hop = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization']);
const forward = (h) => { const named = new Set((h.connection || '').toLowerCase().split(/\s*,\s*/)); return Object.fromEntries(Object.entries(h).filter(([k]) => !hop.has(k) && !named.has(k))); };
http.createServer((req, res) => {
  const headers = { ...forward(req.headers), 'x-forwarded-for': req.socket.remoteAddress };
  const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (ures) => {
    res.writeHead(ures.statusCode, ures.statusMessage, forward(ures.headers));
    ures.pipe(res);
  });
  up.on('error', () => { if (!res.headersSent) { res.writeHead(502); res.end('bad gateway\n'); } else res.destroy(); });
  res.on('close', () => { if (!res.writableFinished) up.destroy(); });
  req.pipe(up);
}).listen(port, '127.0.0.1', () => console.log(`proxy listening on http://127.0.0.1:${port}`));
