#!/usr/bin/env python3
"""idle_client.py PORT SERVER_PID [N] - idle keep-alive memory probe (used by
benches/idle_memory.sh).

1. Warm-up: one connection, a few requests, closed (so lazy start-up costs
   are not charged to the idle connections).  Reads the server's VmRSS.
2. Opens N connections (default 10000; at most 256 handshakes/requests in
   flight so no listen backlog overflows), sends one `GET /` on each and
   reads its whole response (Content-Length framed), then leaves it idle.
3. Reads VmRSS again right away, checks how many connections the server has
   not closed, and prints one machine-readable line:
     conns=N open=M rss_before_kb=A rss_after_kb=B kb_per_conn=X setup_s=S
Everything is bounded: the whole run gives up after 60 s.  Needs a file
descriptor limit above N (the script raises it).
"""
import errno
import selectors
import socket
import sys
import time

REQ = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
IN_FLIGHT = 256
DEADLINE_S = 60


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def response_complete(buf):
    """True once buf holds a whole response (headers + Content-Length body)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if not buf.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"unexpected response: {buf[:80]!r}")
    return len(buf) >= end + 4 + length


def warm_up(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    for _ in range(3):
        s.sendall(REQ)
        buf = b""
        while not response_complete(buf):
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("server closed during warm-up")
            buf += chunk
    s.close()


def open_idle(port, n, deadline):
    sel = selectors.DefaultSelector()
    done, started, active = [], 0, 0
    while len(done) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out with {len(done)}/{n} connections set up")
        while active < IN_FLIGHT and started < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                raise OSError(err, f"connect: {errno.errorcode.get(err, err)}")
            sel.register(s, selectors.EVENT_WRITE, [b""])
            started += 1
            active += 1
        for key, ev in sel.select(timeout=1.0):
            s, state = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE:  # connected: send the request
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, "connect failed")
                s.send(REQ)  # 36 bytes always fit in an empty socket buffer
                sel.modify(s, selectors.EVENT_READ, state)
                continue
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("server closed a connection before answering")
            state[0] += chunk
            if response_complete(state[0]):
                sel.unregister(s)
                done.append(s)
                active -= 1
    sel.close()
    return done


def still_open(socks):
    n = 0
    for s in socks:
        try:
            n += s.recv(1, socket.MSG_PEEK) != b""  # b"": server closed it
        except BlockingIOError:
            n += 1  # nothing to read: still open and idle
        except OSError:
            pass
    return n


def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    deadline = time.monotonic() + DEADLINE_S
    warm_up(port)
    time.sleep(0.2)  # let the server finish closing the warm-up connection
    before = rss_kb(pid)
    t0 = time.monotonic()
    socks = open_idle(port, n, deadline)
    setup = time.monotonic() - t0
    after = rss_kb(pid)
    open_now = still_open(socks)
    print(f"conns={n} open={open_now} rss_before_kb={before} rss_after_kb={after} "
          f"kb_per_conn={(after - before) / n:.3f} setup_s={setup:.2f}", flush=True)
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
