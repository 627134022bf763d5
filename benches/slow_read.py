#!/usr/bin/env python3
"""slow_read.py - server memory under a slow-read attack (issue 13 item 6):
N clients each ask for a 1 MiB `/stream` response (16 chunks of 64 KiB) and
read it slowly (a 4 KiB receive buffer, a few bytes now and then), as
slowhttptest's slow-read test does; then all close at once.

    flock /tmp/eddy-bench.lock python3 benches/slow_read.py [--conns N] [--only "eddy node"]

For each server (fresh process, pinned to CPU 0; the clients run on CPU 1):
VmRSS (from /proc) after a warm-up request, with the N slow readers
connected and their responses under way (once RSS is steady), and after
the last close, sampled every 250 ms for up to 15 s. Reported: RSS growth
per slow-read connection in KB (1 KB = 1024 bytes), peak, and how long RSS
took to come back within 20 MB of the baseline. Goals (eddy): <= 80 KB
per connection; within 20 MB of the baseline within a few seconds of the
last close. Node's `http` (benches/peers/stream_node.js) is the peer,
measured in the same run; `--only "eddy node nginx"` adds nginx (Debian's
package, one process with master_process off, serving a 1 MiB file with its
compiled-in defaults: sendfile off, output_buffers 2 32k). The column
"responding" counts the clients that got the first bytes of a response;
"kernel KB/conn" is the server sockets' Send-Q (ss) at the peak: on loopback
a socket's send buffer grows to tcp_wmem's maximum (4 MiB) at once, so a
1 MiB response sits whole in the kernel and the server holds none of it
unless tcp_mem is under pressure (thousands of connections) or the
response is larger (--chunks 128: 8 MiB per response). EDDY_SERVER=path overrides the eddy-server
binary (default target/release/eddy-server, built if missing).
"""
import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 65536
CHUNKS = 16  # --chunks
REQ = b"GET /stream?chunks=16&size=65536 HTTP/1.1\r\nHost: x\r\n\r\n"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_rlimit_nofile {nofile};
events {{ worker_connections {nofile}; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    keepalive_timeout 60s;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location /stream {{ root {tmp}/www; default_type application/octet-stream; try_files /stream =404; }}
    }}
}}
"""


def start_nginx(port):
    tmp = tempfile.mkdtemp(prefix="eddy-slowread-nginx.")
    os.makedirs(os.path.join(tmp, "www"))
    os.makedirs(os.path.join(tmp, "logs"))
    with open(os.path.join(tmp, "www", "stream"), "wb") as f:
        f.write(b"x" * (CHUNKS * CHUNK))
    conf = os.path.join(tmp, "nginx.conf")
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(tmp=tmp, port=port, nofile=nofile))
    nginx = os.path.realpath(shutil.which("nginx") or "/usr/sbin/nginx")
    p = subprocess.Popen(["taskset", "-c", "0", nginx, "-p", tmp + "/", "-c", conf, "-e", os.path.join(tmp, "error.log")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.tmp = tmp
    deadline = time.time() + 20
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return p
        assert p.poll() is None, open(os.path.join(tmp, "error.log")).read()
        time.sleep(0.02)
    raise SystemExit("nginx did not listen")


def start(name, port):
    if name == "nginx":
        return start_nginx(port)
    if name == "eddy":
        exe = os.environ.get("EDDY_SERVER", os.path.join(ROOT, "target/release/eddy-server"))
        if not os.path.exists(exe):
            subprocess.run(["cargo", "build", "--release", "--bin", "eddy-server"], cwd=ROOT, check=True)
        cmd = [exe, "--port", str(port)]
    else:
        cmd = ["node", os.path.join(ROOT, "benches/peers/stream_node.js"), str(port)]
    p = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline().decode()
    assert "listening on" in line, line
    return p


def warm_up(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(REQ.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\nConnection: close\r\n"))
    n = 0
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        n += len(d)
    s.close()
    assert n > CHUNKS * CHUNK, n


def slow_read_pass(socks, responding):
    """Each slow reader takes a few bytes if it has any."""
    for i, s in enumerate(socks):
        try:
            if s.recv(64):
                responding.add(i)
        except BlockingIOError:
            pass


def steady(pid, port, socks, responding, tries=60):
    """RSS and the kernel's send queues once every client has its response
    under way and two samples 500 ms apart agree within 1%, reading slowly
    all the while: (rss KB, send queue KB)."""
    last, last_q = rss_kb(pid), send_queue_kb(port)
    for _ in range(tries):
        slow_read_pass(socks, responding)
        time.sleep(0.5)
        now, now_q = rss_kb(pid), send_queue_kb(port)
        if (len(responding) == len(socks) and abs(now - last) <= max(last // 100, 256)
                and abs(now_q - last_q) <= max(last_q / 100, 256)):
            return now, now_q
        last, last_q = now, now_q
    return last, last_q


def send_queue_kb(port):
    """The summed Send-Q of the established sockets on local port, in KB."""
    out = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    return sum(int(line.split()[1]) for line in out.splitlines() if line.split()) / 1024


def measure(name, port, conns):
    p = start(name, port)
    try:
        warm_up(port)
        time.sleep(0.5)
        base = rss_kb(p.pid)
        socks = []
        for _ in range(conns):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(REQ)
            s.setblocking(False)
            socks.append(s)
        # Slow readers: a few bytes each, now and then.
        responding = set()
        for _ in range(3):
            slow_read_pass(socks, responding)
            time.sleep(0.3)
        peak, kernel = steady(p.pid, port, socks, responding)
        alive = p.poll() is None
        t0 = time.time()
        for s in socks:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        back_in = None
        after = rss_kb(p.pid)
        while time.time() - t0 < 15:
            time.sleep(0.25)
            after = rss_kb(p.pid)
            if back_in is None and after - base <= 20 * 1024:
                back_in = time.time() - t0
        return dict(server=name, conns=conns, base=base, peak=peak, after=after, back_in=back_in, alive=alive,
                    responding=len(responding), kernel=kernel)
    finally:
        p.kill()
        p.wait()
        if hasattr(p, "tmp"):
            shutil.rmtree(p.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--only", default="eddy node")
    ap.add_argument("--port", type=int, default=18830)
    ap.add_argument("--chunks", type=int, default=16, help="64 KiB chunks per response (16: 1 MiB)")
    a = ap.parse_args()
    global CHUNKS, REQ
    CHUNKS = a.chunks
    REQ = REQ.replace(b"chunks=16", b"chunks=%d" % a.chunks)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.conns + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    os.sched_setaffinity(0, {1})
    rows = []
    for i, name in enumerate(a.only.split()):
        rows.append(measure(name, a.port + i, a.conns))
    print(f"slow read: {a.conns} connections, {a.chunks * CHUNK / (1 << 20):g} MiB /stream each, "
          "4 KiB client receive buffers")
    print(f"{'server':8} {'base MB':>8} {'peak MB':>8} {'KB/conn':>8} {'after MB':>9} {'<=20MB in':>10} {'responding':>10} {'kernel KB/conn':>14}")
    for r in rows:
        per = (r['peak'] - r['base']) / r['conns']
        back = f"{r['back_in']:.2f} s" if r['back_in'] is not None else "never"
        print(f"{r['server']:8} {r['base']/1024:8.1f} {r['peak']/1024:8.1f} {per:8.1f} {r['after']/1024:9.1f} {back:>10}"
              f" {r['responding']:>10} {r['kernel'] / r['conns']:14.1f}"
              + ("" if r['alive'] else "  (server died)"))
    per = {r['server']: (r['peak'] - r['base']) / r['conns'] for r in rows}
    for peer in ("node", "nginx"):
        if "eddy" in per and per.get(peer, 0) > 0:
            print(f"eddy/{peer} KB per connection: {per['eddy'] / per[peer]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
