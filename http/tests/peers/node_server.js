// A Node `http` server for eddy's client tests (http/tests/client_peers.rs).
//
// Listens on 127.0.0.1, port 0, and prints one ready line on stdout:
// `<http port> <echo port>` (the second is a plain TCP echo server, the
// target of CONNECT tunnels). Exits when stdin closes (the test's end).
//
// Every response carries `X-Connections` (connections the HTTP server has
// accepted so far) and `X-Remote-Port` (the client's port on this socket).
//
// Routes:
//   /trailers      chunked body in three writes, then two trailers
//   /echo          the request body back (Content-Length), with
//                  `X-Body-Before-Continue` for `Expect: 100-continue`
//                  requests: body bytes the server had read when it
//                  decided to send `100 Continue` (must be 0)
//   /close-after   a small keep-alive response, after which the server
//                  destroys the socket itself
//   /hold          a keep-alive response; the server remembers the socket
//   /drop-held     destroys the socket /hold remembered, then answers
//   /doom          a keep-alive response; the next request on the same
//                  socket gets no answer: the server destroys the socket
//   anything else  "ok <path>"
// CONNECT host:port: a tunnel to that TCP address.

"use strict";
const http = require("http");
const net = require("net");

let connections = 0;
let held = null;

// The request head as the client sent it, rebuilt from rawHeaders (eddy
// writes `Name: value\r\n` lines exactly), to count what follows it.
function headLength(req) {
  let n = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`.length;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    n += Buffer.byteLength(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
  }
  return n + 2;
}

function common(req, res) {
  res.setHeader("X-Connections", String(connections));
  res.setHeader("X-Remote-Port", String(req.socket.remotePort));
}

function echo(req, res, beforeContinue) {
  const parts = [];
  req.on("data", (d) => parts.push(d));
  req.on("end", () => {
    const body = Buffer.concat(parts);
    common(req, res);
    if (beforeContinue !== undefined) {
      res.setHeader("X-Body-Before-Continue", String(beforeContinue));
    }
    res.setHeader("Content-Length", String(body.length));
    res.end(body);
  });
}

function handle(req, res) {
  if (req.socket.doomed) {
    req.socket.destroy();
    return;
  }
  const path = req.url;
  if (path === "/trailers") {
    common(req, res);
    res.setHeader("Content-Type", "text/plain");
    res.setHeader("Trailer", "X-Parts, X-Checksum");
    const parts = ["alpha-", "beta-", "gamma"];
    for (const p of parts) res.write(p);
    res.addTrailers({ "X-Parts": String(parts.length), "X-Checksum": "sum-" + parts.join("").length });
    res.end();
  } else if (path === "/echo") {
    echo(req, res);
  } else if (path === "/close-after") {
    common(req, res);
    res.on("finish", () => req.socket.destroy());
    res.end("closing soon");
  } else if (path === "/hold") {
    held = req.socket;
    common(req, res);
    res.end("held");
  } else if (path === "/drop-held") {
    if (held) held.destroy();
    common(req, res);
    res.end(held ? "dropped" : "nothing held");
    held = null;
  } else if (path === "/doom") {
    req.socket.doomed = true;
    common(req, res);
    res.end("doomed");
  } else {
    common(req, res);
    res.end("ok " + path);
  }
}

const server = http.createServer(handle);
server.on("connection", () => connections++);

// `Expect: 100-continue`: wait a moment (so that a body sent too early
// would have arrived), note how much of it the server already has, then
// let the client go on.
server.on("checkContinue", (req, res) => {
  setTimeout(() => {
    const before = req.socket.bytesRead - headLength(req);
    res.writeContinue();
    echo(req, res, before);
  }, 100);
});

server.on("connect", (req, client, head) => {
  const [host, port] = req.url.split(":");
  const upstream = net.connect(Number(port), host, () => {
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on("error", () => client.destroy());
  client.on("error", () => upstream.destroy());
});

// The tunnel's target: says hello, then echoes.
const echoServer = net.createServer((s) => {
  s.write("echo-ready\n");
  s.pipe(s);
  s.on("error", () => {});
});

server.listen(0, "127.0.0.1", () => {
  echoServer.listen(0, "127.0.0.1", () => {
    console.log(`${server.address().port} ${echoServer.address().port}`);
  });
});

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
