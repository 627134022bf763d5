// http_node.js - Node.js `http` hello server, the Node peer for benches/load.sh
// and benches/idle_memory.sh.
//   node http_node.js PORT   # prints "listening on http://127.0.0.1:PORT"
// Sends the same header block, in the same order, as eddy-server and
// http_epoll.c; Node itself appends "Connection: keep-alive" and
// "Keep-Alive: timeout=5" (its default keepAliveTimeout is 5 s).
'use strict';
const http = require('http');
const port = Number(process.argv[2]);
let date = new Date().toUTCString(), dateSec = Math.floor(Date.now() / 1000);
http.createServer((req, res) => {
  const now = Math.floor(Date.now() / 1000); // refresh the cached Date once a second
  if (now !== dateSec) { dateSec = now; date = new Date().toUTCString(); }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 13, 'Date': date, 'Server': 'eddy' });
  res.end('Hello, World!');
}).listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
