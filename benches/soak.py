#!/usr/bin/env python3
"""Soak test for eddy-server: about 60 s of mixed load, then health checks.

    cargo build --release && python3 benches/soak.py [--seconds 50] [--threads 16]

Load (loopback only, bounded in time): keep-alive GET series, echo uploads of
random size (verified), pipelined bursts, delayed responses, and clients that
disconnect mid-request, mid-upload and mid-response.

Afterwards, all of these must hold (exit 1 otherwise):
  * the server still answers GET /;
  * its open fd count is back to the baseline taken before the load;
  * its RSS is within 10% of the RSS measured after the warm-up;
  * its stderr has no panic.
"""
import argparse
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.environ.get("EDDY_SERVER", os.path.join(ROOT, "target", "release", "eddy-server"))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s, buf):
    """Reads one response (Content-Length or chunked); returns (head, body, rest)."""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed before the head")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)content-length: (\d+)", head)
    if m:
        n = int(m.group(1))
        while len(rest) < n:
            d = s.recv(65536)
            if not d:
                raise ConnectionError("closed mid-body")
            rest += d
        return head, rest[:n], rest[n:]
    if re.search(rb"(?i)transfer-encoding: chunked", head):
        body = b""
        while True:
            while b"\r\n" not in rest:
                d = s.recv(65536)
                if not d:
                    raise ConnectionError("closed mid-chunk")
                rest += d
            line, _, rest = rest.partition(b"\r\n")
            size = int(line, 16)
            while len(rest) < size + 2:
                d = s.recv(65536)
                if not d:
                    raise ConnectionError("closed mid-chunk")
                rest += d
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                return head, body, rest
    return head, b"", rest


def get_series(port, rng):
    s = connect(port)
    buf = b""
    for _ in range(rng.randint(1, 20)):
        s.sendall(b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n")
        head, body, buf = read_response(s, buf)
        assert body == b"Hello, World!", body[:40]
    s.close()


def echo_upload(port, rng):
    size = rng.choice([0, 1, 100, 10_000, 200_000, 1_000_000])
    payload = os.urandom(size)
    s = connect(port)
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n" % size)
    writer = threading.Thread(target=s.sendall, args=(payload,))
    writer.start()
    head, body, _ = read_response(s, b"")
    writer.join()
    assert body == payload, f"echo of {size} bytes came back as {len(body)}"
    s.close()


def pipelined_burst(port, rng):
    n = rng.randint(2, 100)
    s = connect(port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n" * n)
    buf = b""
    for _ in range(n):
        _, body, buf = read_response(s, buf)
        assert body == b"Hello, World!"
    s.close()


def delayed(port, rng):
    ms = rng.randint(0, 50)
    s = connect(port)
    s.sendall(b"GET /delay?ms=%d HTTP/1.1\r\nHost: soak\r\n\r\n" % ms)
    _, body, _ = read_response(s, b"")
    assert body == b"waited %d ms" % ms
    s.close()


def quit_mid_request(port, rng):
    s = connect(port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: so")
    s.close()


def quit_mid_upload(port, rng):
    s = connect(port)
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 50_000)
    s.close()


def quit_mid_response(port, rng):
    s = connect(port)
    s.sendall(b"GET /stream?chunks=1000&size=10000 HTTP/1.1\r\nHost: soak\r\n\r\n")
    s.recv(rng.choice([1, 1000, 65536]))
    s.close()


ACTIONS = [get_series, echo_upload, pipelined_burst, delayed, quit_mid_request,
           quit_mid_upload, quit_mid_response]


def load(port, seconds, threads, seed):
    stop = time.monotonic() + seconds
    counts = {a.__name__: 0 for a in ACTIONS}
    errors = []
    lock = threading.Lock()

    def worker(i):
        rng = random.Random(seed * 1000 + i)
        while time.monotonic() < stop:
            action = rng.choice(ACTIONS)
            try:
                action(port, rng)
                with lock:
                    counts[action.__name__] += 1
            except Exception as e:  # noqa: BLE001 - every failure is reported
                with lock:
                    errors.append(f"{action.__name__}: {e!r}")

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return counts, errors


def wait_until(pred, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    stderr_path = "/tmp/eddy-soak-stderr.log"
    with open(stderr_path, "w") as err:
        proc = subprocess.Popen([SERVER, "--port", "0", "--keep-alive-timeout", "1000"],
                                stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        line = proc.stdout.readline()
        port = int(line.strip().rsplit(":", 1)[1])
        pid = proc.pid
        base_fds = fd_count(pid)
        print(f"eddy-server pid {pid} port {port}, baseline {base_fds} fds, {rss_kb(pid)} KB RSS")

        counts, errors = load(port, args.warmup, args.threads, args.seed)
        wait_until(lambda: fd_count(pid) <= base_fds, 10)
        warm_rss = rss_kb(pid)
        print(f"after {args.warmup} s warm-up: {warm_rss} KB RSS, {fd_count(pid)} fds")

        counts, errors2 = load(port, args.seconds, args.threads, args.seed + 1)
        errors += errors2
        print("actions:", ", ".join(f"{k}={v}" for k, v in counts.items()))

        # Connections close on EOF, or at the keep-alive timeout (1 s).
        fds_ok = wait_until(lambda: fd_count(pid) <= base_fds, 15)
        end_fds, end_rss = fd_count(pid), rss_kb(pid)
        get_series(port, random.Random(0))
        answering = True
    except Exception as e:  # noqa: BLE001
        print(f"soak aborted: {e!r}")
        answering, fds_ok, end_fds, end_rss, warm_rss, errors = False, False, -1, -1, 1, ["aborted"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    panics = [l for l in open(stderr_path) if "panicked" in l]
    rss_ok = end_rss <= warm_rss * 1.10
    print(f"after the soak: {end_rss} KB RSS ({end_rss / warm_rss:.3f}x warm-up), {end_fds} fds (baseline {base_fds})")
    print(f"client-side errors: {len(errors)}")
    for e in errors[:10]:
        print("   ", e)
    checks = [("still answering", answering), ("fds back to baseline", fds_ok),
              ("RSS within 10% of warm-up", rss_ok), ("no panic", not panics),
              ("no client errors", not errors)]
    for name, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    for p in panics[:5]:
        print("   ", p.rstrip())
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
