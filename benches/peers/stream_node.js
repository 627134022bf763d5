// stream_node.js - Node.js `http` server with eddy-server's `/stream` route
// (N chunks of B bytes, each written when the socket has drained), the Node
// peer for benches/slow_read.py.
//   node stream_node.js PORT   # prints "listening on http://127.0.0.1:PORT"
'use strict';
const http = require('http');
const port = Number(process.argv[2]);
const blocks = new Map();
http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const chunks = Number(u.searchParams.get('chunks') || 10);
  const size = Math.min(Number(u.searchParams.get('size') || 1024), 16 << 20);
  if (!blocks.has(size)) blocks.set(size, Buffer.alloc(size, 'x'));
  const block = blocks.get(size);
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Server': 'eddy' });
  let sent = 0;
  const pump = () => {
    while (sent < chunks) {
      sent++;
      if (!res.write(block)) return;
    }
    res.end();
  };
  res.on('drain', pump);
  pump();
}).listen(port, '127.0.0.1', 4096, () => console.log(`listening on http://127.0.0.1:${port}`));
