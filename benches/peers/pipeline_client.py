#!/usr/bin/env python3
"""pipeline_client.py PORT COUNT [DEPTH] - send COUNT `GET /` requests to
127.0.0.1:PORT on one connection, DEPTH (default 16) per write, and wait
for each batch's answers (counted by their "Hello, World!" bodies) before
the next write. Used by benches/server_instr.sh and proxy_instr.sh
(through peers/callgrind.sh), where the server runs
under callgrind and wrk would be too fast for it."""
import socket
import sys

BODY = b"Hello, World!"


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    depth = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # A server that stops answering ends the run instead of hanging it
    # (generous: the server runs under callgrind).
    s.settimeout(60)
    done, buf = 0, b""
    while done < count:
        k = min(depth, count - done)
        s.sendall(req * k)
        got = 0
        while got < k:
            d = s.recv(65536)
            if not d:
                sys.exit(f"the server closed after {done + got} answers")
            buf += d
            if len(buf) > 1 << 20:
                sys.exit("1 MiB of answers without a Hello, World! body")
            n = buf.count(BODY)
            if n:
                got += n
                buf = buf[buf.rfind(BODY) + len(BODY):]
        done += k
    s.close()


if __name__ == "__main__":
    main()
