// A JSON notes API in Node, the peer of examples/api.rs (issue 12): the same
// routes and statuses (GET/POST /notes, GET/DELETE /notes/ID; 201, 204,
// 400, 404, 413 past 64 KiB).
//
//   node benches/peers/api_node.js PORT
const http = require('http');
const notes = new Map();
let next = 1;
const reply = (res, status, body) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(body === undefined ? '' : JSON.stringify(body)); };
http.createServer((req, res) => {
  const m = req.url.match(/^\/notes\/(\d+)$/), id = m && Number(m[1]);
  if (req.method === 'GET' && req.url === '/notes') return reply(res, 200, [...notes.values()]);
  if (req.method === 'POST' && req.url === '/notes') {
    const chunks = []; let size = 0;
    req.on('data', (c) => { size += c.length; if (size > 65536) { reply(res, 413, { error: 'too large' }); req.destroy(); } else chunks.push(c); });
    return req.on('end', () => {
      let note; try { note = JSON.parse(Buffer.concat(chunks)); } catch { }
      if (!note || typeof note !== 'object' || Array.isArray(note)) return reply(res, 400, { error: 'not an object' });
      note.id = next++; notes.set(note.id, note); reply(res, 201, note);
    });
  }
  if (req.method === 'GET' && id && notes.has(id)) return reply(res, 200, notes.get(id));
  if (req.method === 'DELETE' && id && notes.delete(id)) return reply(res, 204);
  reply(res, 404, { error: 'not found' });
}).listen(Number(process.argv[2] || 8080), '127.0.0.1', () => console.log(`api listening on http://127.0.0.1:${process.argv[2] || 8080}`));
