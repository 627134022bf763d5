#!/usr/bin/env python3
"""resp_check.py PORT - check a hello server's answer to `GET /` (used by
benches/load.sh).  Sends two pipelined requests on one connection, reads both
responses, and compares each with the expected bytes, Date value masked.
Prints "OK <len> bytes" (exit 0) or what differs (exit 1)."""
import re
import socket
import sys

EXPECTED = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
            b"Date: XXX, 00 XXX 0000 00:00:00 GMT\r\nServer: eddy\r\n"
            b"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nHello, World!")
DATE = re.compile(rb"Date: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\n")
MASK = b"Date: XXX, 00 XXX 0000 00:00:00 GMT\r\n"


def main():
    port = int(sys.argv[1])
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 2)
    data = b""
    while len(data) < 2 * len(EXPECTED):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    masked = DATE.sub(MASK, data)
    if masked == EXPECTED * 2:
        print(f"OK {len(data) // 2} bytes")
        return 0
    print(f"DIFFERS: got {len(data)} bytes for 2 responses, expected {2 * len(EXPECTED)}")
    print(f"  got:      {masked[:400]!r}")
    print(f"  expected: {EXPECTED!r}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
