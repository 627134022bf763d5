// client_node.js - keep-alive GET load generator on Node's `http` client,
// the Node side of benches/client_load.sh (examples/client_load.rs is the
// same on eddy's client).
//   node client_node.js [--conns N] [--duration SECS | --requests N] [--warmup SECS]
//                       [--next-on end|close] URL
// Keeps N requests in flight over one keepAlive Agent (maxSockets N): each
// request's 'close' (after its response ended) issues the next GET, as
// examples/client_load.rs does by default; --next-on end issues it from the
// response's 'end' instead.  After the warm-up (default 1 s) it
// measures for --duration seconds (default 5) or --requests responses and
// prints one line:
//   requests=R seconds=S cpu_us=C rps=.. cpu_us_per_req=.. sockets=K body_bytes=B errors=E
// cpu_us is process.cpuUsage() (user + system) over the measured part.
'use strict';
const http = require('http');

function usage() {
  console.error('usage: client_node.js [--conns N] [--duration SECS | --requests N] [--warmup SECS] [--next-on end|close] URL');
  process.exit(2);
}

let conns = 1, duration = 5, warmup = 1, limit = null, url = null, nextOn = 'close';
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const num = () => { const v = Number(args[++i]); if (!Number.isFinite(v)) usage(); return v; };
  if (a === '--conns' || a === '-c') conns = num();
  else if (a === '--duration' || a === '-d') duration = num();
  else if (a === '--warmup' || a === '-w') warmup = num();
  else if (a === '--requests' || a === '-n') limit = num();
  else if (a === '--next-on') { nextOn = args[++i]; if (nextOn !== 'end' && nextOn !== 'close') usage(); }
  else if (a.startsWith('-')) usage();
  else if (url === null) url = a;
  else usage();
}
if (url === null || conns < 1) usage();

const u = new URL(url);
let sockets = 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
const options = { host: u.hostname, port: Number(u.port) || 80, path: u.pathname + u.search, method: 'GET', agent };

let phase = 'warmup', done = 0, bodyBytes = 0, errors = 0, t0 = 0n, cpu0 = null;

function beginMeasure() {
  phase = 'measure'; done = 0; bodyBytes = 0;
  t0 = process.hrtime.bigint(); cpu0 = process.cpuUsage();
  if (limit === null) setTimeout(endMeasure, duration * 1000);
}

function endMeasure() {
  if (phase !== 'measure') return;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(cpu0);
  const cpu = c.user + c.system;
  phase = 'done';
  console.log(`requests=${done} seconds=${secs.toFixed(3)} cpu_us=${cpu} rps=${(done / secs).toFixed(0)} ` +
    `cpu_us_per_req=${(cpu / Math.max(done, 1)).toFixed(3)} sockets=${sockets} body_bytes=${bodyBytes} errors=${errors}`);
  agent.destroy();
  process.exit(errors ? 1 : 0);
}

function issue() {
  const req = http.request(options, (res) => {
    res.on('data', (chunk) => { bodyBytes += chunk.length; });
    res.on('end', () => {
      done++;
      if (phase === 'measure' && limit !== null && done >= limit) return endMeasure();
      if (nextOn === 'end' && phase !== 'done') issue();
    });
  });
  if (nextOn === 'close') req.on('close', () => { if (phase !== 'done') issue(); });
  req.on('socket', (s) => { if (!s.__counted) { s.__counted = true; sockets++; } });
  req.on('error', (e) => {
    console.error(`client_node: ${e.message}`);
    errors++;
    if (phase === 'measure') return endMeasure();
    process.exit(1);
  });
  req.end();
}

if (warmup > 0) setTimeout(beginMeasure, warmup * 1000); else beginMeasure();
for (let i = 0; i < conns; i++) issue();
