#!/usr/bin/env python3
"""restart.py - a zero-downtime restart under load: eddy-server's SIGUSR2
next to nginx's binary upgrade (`kill -USR2` on the master, then `QUIT` on
the old master once the new one runs; WINCH first), issue 14.

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


NGINX_CONF = """# master_process on and daemon on: a master that is not a daemon ignores
# SIGUSR2 ("the changing binary signal is ignored") while its parent lives.
daemon on;
master_process on;
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log notice;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    keepalive_requests 100000000;
    keepalive_timeout 5s;
    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type text/plain; return 200 "Hello, World!"; }}
    }}
}}
"""


def pid_alive(pid):
    """True while pid runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def children(pid):
    """The pids whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


class NginxMaster:
    """An nginx master that daemonized itself: not our child, so it is
    watched through /proc rather than waited for."""

    def __init__(self, pid):
        self.pid = pid

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while pid_alive(self.pid):
            if time.monotonic() > deadline:
                raise SystemExit(f"nginx master {self.pid} did not exit in {timeout}s")
            time.sleep(0.01)


def read_pid(path):
    try:
        return int(open(path).read().strip())
    except (OSError, ValueError):
        return None


def start_nginx(port, workers, tmp):
    # The binary upgrade re-executes argv[0] and hands the listening
    # sockets over in $NGINX: so an absolute binary path, a pid file it can
    # rename to .oldbin, and prefix, conf, logs and temp paths under tmp.
    conf = os.path.join(tmp, "nginx.conf")
    os.makedirs(os.path.join(tmp, "logs"), exist_ok=True)
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(workers=workers, tmp=tmp, port=port))
    nginx = os.path.realpath(shutil.which("nginx") or "/usr/sbin/nginx")
    pidfile = os.path.join(tmp, "nginx.pid")
    # Foreground part exits once the daemon runs; the daemon keeps CPU 0.
    subprocess.run(["taskset", "-c", "0", nginx, "-p", tmp + "/", "-c", conf, "-e", os.path.join(tmp, "error.log")],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pid = read_pid(pidfile)
        if pid and pid_alive(pid) and children(pid):
            return NginxMaster(pid), None
        time.sleep(0.01)
    raise SystemExit("nginx did not start: " + open(os.path.join(tmp, "error.log")).read()[-2000:])


def restart_nginx(p, _err, tmp):
    # nginx's binary upgrade: USR2 makes the master execute its binary again
    # (the pid file becomes nginx.pid.oldbin, the new master writes
    # nginx.pid); once the new master's workers run, WINCH stops the old
    # workers gracefully and QUIT ends the old master.
    os.kill(p.pid, signal.SIGUSR2)
    pidfile = os.path.join(tmp, "nginx.pid")
    deadline = time.monotonic() + 30
    new = None
    while time.monotonic() < deadline:
        new = read_pid(pidfile)
        if new and new != p.pid and read_pid(pidfile + ".oldbin") == p.pid and pid_alive(new) and children(new):
            break
        time.sleep(0.01)
    else:
        raise SystemExit("nginx did not start a new master: "
                         + open(os.path.join(tmp, "error.log")).read()[-2000:])
    os.kill(p.pid, signal.SIGWINCH)
    os.kill(p.pid, signal.SIGQUIT)
    return new


def stop_nginx(pid, tmp):
    """QUIT the master in pid (and whatever nginx.pid names), wait, then KILL."""
    pids = {pid, read_pid(os.path.join(tmp, "nginx.pid"))} - {None}
    for q in pids:
        try:
            os.kill(q, signal.SIGQUIT)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while any(pid_alive(q) for q in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    for q in pids:
        for c in children(q) + [q]:
            try:
                os.kill(c, signal.SIGKILL)
            except ProcessLookupError:
                pass


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
    if name == "nginx":
        stop_nginx(new_pid, tmp)
    else:
        try:
            os.kill(new_pid, signal.SIGTERM)
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
            if name == "nginx":
                for f in ("nginx.pid", "nginx.pid.oldbin"):
                    q = read_pid(os.path.join(tmp, f))
                    if q and pid_alive(q):
                        stop_nginx(q, tmp)
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
