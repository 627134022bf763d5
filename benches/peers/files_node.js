// A static file server in Node, the peer of `eddy-server --root` (issue 12):
// index.html for directories, a 301 to a directory's slash, nothing outside
// the root, streamed with fs.createReadStream. (Node has no Range, ETag or
// conditional GET of its own; this peer leaves them out, as most Node file
// servers written by hand do.)
//
//   node benches/peers/files_node.js PORT DIR
const http = require('http'), fs = require('fs'), path = require('path');
const [port, root] = [Number(process.argv[2] || 8080), fs.realpathSync(process.argv[3] || '.')];
const types = { '.html': 'text/html', '.txt': 'text/plain', '.css': 'text/css', '.js': 'text/javascript', '.json': 'application/json', '.png': 'image/png' };
http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let file = path.join(root, decodeURIComponent(url.pathname));
  fs.realpath(file, (err, real) => {
    if (err || (real !== root && !real.startsWith(root + path.sep))) { res.writeHead(404); return res.end('not found\n'); }
    fs.stat(real, (err, st) => {
      if (err) { res.writeHead(404); return res.end('not found\n'); }
      if (st.isDirectory() && !url.pathname.endsWith('/')) { res.writeHead(301, { Location: url.pathname + '/' + url.search }); return res.end(); }
      if (st.isDirectory()) { real = path.join(real, 'index.html'); try { st = fs.statSync(real); } catch { res.writeHead(404); return res.end('not found\n'); } }
      res.writeHead(200, { 'Content-Type': types[path.extname(real)] || 'application/octet-stream', 'Content-Length': st.size, 'Last-Modified': st.mtime.toUTCString() });
      if (req.method === 'HEAD') return res.end();
      fs.createReadStream(real).pipe(res);
    });
  });
}).listen(port, '127.0.0.1', () => console.log(`files listening on http://127.0.0.1:${port}`));
