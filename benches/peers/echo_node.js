// echo_node.js - Node.js `net` echo server, the Node peer for benches/echo_compare.sh.
//   node echo_node.js PORT    # prints "listening on 127.0.0.1:PORT" when ready
// socket.pipe(socket) gives back-pressure: reads pause while writes are queued.
'use strict';
const net = require('net');
const port = Number(process.argv[2]);
if (!port) { console.error('usage: node echo_node.js PORT'); process.exit(2); }
const server = net.createServer({ noDelay: true }, (sock) => {
  sock.on('error', () => sock.destroy());
  sock.pipe(sock);
});
server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
