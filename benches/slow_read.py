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
measured in the same run. EDDY_SERVER=path overrides the eddy-server
binary (default target/release/eddy-server, built if missing).
"""
import argparse
import os
import resource
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQ = b"GET /stream?chunks=16&size=65536 HTTP/1.1\r\nHost: x\r\n\r\n"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start(name, port):
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
    assert n > 1 << 20, n


def steady(pid, tries=40):
    """RSS once two samples 500 ms apart agree within 1%."""
    last = rss_kb(pid)
    for _ in range(tries):
        time.sleep(0.5)
        now = rss_kb(pid)
        if abs(now - last) <= max(last // 100, 256):
            return now
        last = now
    return last


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
        for _ in range(3):
            for s in socks:
                try:
                    s.recv(64)
                except BlockingIOError:
                    pass
            time.sleep(0.3)
        peak = steady(p.pid)
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
        return dict(server=name, conns=conns, base=base, peak=peak, after=after, back_in=back_in, alive=alive)
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--only", default="eddy node")
    ap.add_argument("--port", type=int, default=18830)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.conns + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    os.sched_setaffinity(0, {1})
    rows = []
    for i, name in enumerate(a.only.split()):
        rows.append(measure(name, a.port + i, a.conns))
    print(f"slow read: {a.conns} connections, 1 MiB /stream each, 4 KiB client receive buffers")
    print(f"{'server':8} {'base MB':>8} {'peak MB':>8} {'KB/conn':>8} {'after MB':>9} {'<=20MB in':>10}")
    for r in rows:
        per = (r['peak'] - r['base']) / r['conns']
        back = f"{r['back_in']:.2f} s" if r['back_in'] is not None else "never"
        print(f"{r['server']:8} {r['base']/1024:8.1f} {r['peak']/1024:8.1f} {per:8.1f} {r['after']/1024:9.1f} {back:>10}"
              + ("" if r['alive'] else "  (server died)"))
    if len(rows) == 2:
        e, n = [(r['peak'] - r['base']) / r['conns'] for r in rows]
        print(f"eddy/node KB per connection: {e / n:.2f}" if n > 0 else "")


if __name__ == "__main__":
    sys.exit(main())
