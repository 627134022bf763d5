#!/usr/bin/env python3
"""restart.py - a zero-downtime restart under load: eddy-server's SIGUSR2
next to nginx's binary upgrade (`kill -USR2` on the master, then `QUIT` on
the old master once the new one runs), issue 14.

    benches/restart.py [--duration SECS] [--conns N] [--workers N]
                       [--only "eddy nginx"] [--port BASE]

For each server: start it pinned to CPU 0; run wrk (-t1, N connections,
keep-alive, CPU 1) for the whole duration, and beside it a probe of 4
keep-alive connections on CPU 1 that timestamps every response; restart
the server at 40% of the run. Reported: wrk's requests and errors (socket
errors, non-2xx) and its maximum latency, and the probe's responses,
errors and longest gap between two responses (the restart's pause, as a
client sees it). nginx is used if installed (Debian's `nginx` package);
eddy-server is target/release/eddy-server (EDDY_SERVER=path overrides).
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port(base):
    port = base
    while True:
        port += 1
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return port


def wait_listening(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.02)
    return False


class Probe:
    """Keep-alive GET / loops on a few connections; every response time."""

    def __init__(self, port, conns=4):
        self.port, self.stop = port, False
        self.times, self.errors, self.refused = [], [], 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(conns)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop = True
        for t in self.threads:
            t.join()

    def run(self):
        req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        while not self.stop:
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            except ConnectionRefusedError:
                with self.lock:
                    self.refused += 1
                continue
            buf = b""
            try:
                while not self.stop:
                    s.sendall(req)
                    while b"\r\n\r\n" not in buf:
                        got = s.recv(65536)
                        if not got:
                            raise ConnectionError("EOF before a response")
                        buf += got
                    head, _, rest = buf.partition(b"\r\n\r\n")
                    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                    n = int(m.group(1)) if m else 0
                    while len(rest) < n:
                        got = s.recv(65536)
                        if not got:
                            raise ConnectionError("EOF in a body")
                        rest += got
                    buf = rest[n:]
                    now = time.monotonic()
                    with self.lock:
                        if head.startswith(b"HTTP/1.1 200"):
                            self.times.append(now)
                        else:
                            self.errors.append(head.split(b"\r\n")[0].decode())
                    if re.search(rb"(?i)connection:\s*close", head):
                        break
            except (OSError, ConnectionError) as e:
                with self.lock:
                    self.errors.append(type(e).__name__ + ": " + str(e))
            finally:
                s.close()


def run_wrk(port, secs, conns, out):
    out["text"] = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--latency",
         f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=secs + 60).stdout


def wrk_figures(text):
    reqs = re.search(r"(\d+) requests in", text)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    lat = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", text)
    return {
        "requests": int(reqs.group(1)) if reqs else None,
        "socket_errors": tuple(int(x) for x in errs.groups()) if errs else (0, 0, 0, 0),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "max_latency": lat.group(1) if lat else "?",
    }


def start_eddy(port, workers, tmp):
    binary = os.environ.get("EDDY_SERVER", os.path.join(ROOT, "target/release/eddy-server"))
    err = open(os.path.join(tmp, "eddy.stderr"), "w+")
    p = subprocess.Popen(["taskset", "-c", "0", binary, "--port", str(port), "--workers", str(workers)],
                         stdout=subprocess.DEVNULL, stderr=err)
    return p, err


def restart_eddy(p, err, tmp):
    os.kill(p.pid, signal.SIGUSR2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        err.seek(0)
        m = re.search(r"restart: pid (\d+) is listening", err.read())
        if m:
            return int(m.group(1))
        time.sleep(0.01)
    raise SystemExit("eddy-server did not hand over: " + open(err.name).read())


NGINX_CONF = """daemon off;
master_process on;
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log notice;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 5s;
    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type text/plain; return 200 "Hello, World!"; }}
    }}
}}
"""


def start_nginx(port, workers, tmp):
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(workers=workers, tmp=tmp, port=port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    p = subprocess.Popen(["taskset", "-c", "0", nginx, "-p", tmp, "-c", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return p, None


def restart_nginx(p, _err, tmp):
    # nginx's binary upgrade: USR2 starts a new master (the old pid file
    # becomes nginx.pid.oldbin); QUIT then ends the old master gracefully.
    os.kill(p.pid, signal.SIGUSR2)
    pidfile = os.path.join(tmp, "nginx.pid")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            new = int(open(pidfile).read().strip())
            if new != p.pid and os.path.exists(pidfile + ".oldbin"):
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    else:
        raise SystemExit("nginx did not start a new master")
    # Wait until the new master's workers run (they accept from then on).
    time.sleep(0.2)
    os.kill(p.pid, signal.SIGQUIT)
    return new


def measure(name, port, args, tmp):
    start, restart = {"eddy": (start_eddy, restart_eddy), "nginx": (start_nginx, restart_nginx)}[name]
    p, err = start(port, args.workers, tmp)
    if not wait_listening(port):
        raise SystemExit(f"{name} did not listen on {port}")
    probe = Probe(port)
    wrk_out = {}
    wrk = threading.Thread(target=run_wrk, args=(port, args.duration, args.conns, wrk_out))
    wrk.start()
    probe.start()
    time.sleep(args.duration * 0.4)
    swap_at = time.monotonic()
    new_pid = restart(p, err, tmp)
    p.wait(timeout=30)  # the old process (master) exits after draining
    old_gone = time.monotonic()
    wrk.join()
    probe.finish()
    try:
        os.kill(new_pid, signal.SIGTERM if name == "eddy" else signal.SIGQUIT)
    except ProcessLookupError:
        pass
    w = wrk_figures(wrk_out.get("text", ""))
    times = sorted(probe.times)
    gaps = [(b - a, a) for a, b in zip(times, times[1:])]
    longest, at = max(gaps) if gaps else (0, 0)
    return {
        "server": name, **w, "probe_responses": len(times), "probe_errors": len(probe.errors),
        "probe_refused": probe.refused, "probe_error_kinds": sorted(set(probe.errors))[:3],
        "longest_gap_ms": longest * 1e3, "gap_from_swap_ms": (at - swap_at) * 1e3,
        "old_exit_after_ms": (old_gone - swap_at) * 1e3,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", default="eddy nginx")
    ap.add_argument("--port", type=int, default=18900)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")
    results = []
    for name in args.only.split():
        if name == "nginx" and not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
            print("!! nginx is not installed (apt-get install nginx); skipping it")
            continue
        tmp = tempfile.mkdtemp(prefix=f"eddy-restart-{name}.")
        try:
            port = free_port(args.port)
            print(f"== {name}: wrk -t1 -c{args.conns} {args.duration}s, restart at 40%", flush=True)
            r = measure(name, port, args, tmp)
            results.append(r)
            print("  ", r, flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"{'server':<7} {'wrk reqs':>10} {'sock err c/r/w/t':>17} {'non-2xx':>8} {'max lat':>8} | "
          f"{'probe resp':>10} {'errors':>6} {'refused':>7} {'longest gap':>11} {'old exits':>9}")
    for r in results:
        print(f"{r['server']:<7} {r['requests']:>10} {'/'.join(map(str, r['socket_errors'])):>17} "
              f"{r['non2xx']:>8} {r['max_latency']:>8} | {r['probe_responses']:>10} "
              f"{r['probe_errors']:>6} {r['probe_refused']:>7} {r['longest_gap_ms']:>9.1f}ms "
              f"{r['old_exit_after_ms']:>7.0f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
