"""Python's http.server with close-delimited bodies, for eddy's client tests
(http/tests/client_peers.rs).

    python3 -u py_close_delimited.py DIRECTORY

Serves DIRECTORY as `python3 -m http.server` does (HTTP/1.0, one request
per connection), but without `Content-Length`: a body ends when the server
closes the connection. Listens on 127.0.0.1, port 0, and prints the port
as its ready line.
"""

import functools
import http.server
import sys


class CloseDelimited(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def send_header(self, keyword, value):
        if keyword.lower() != "content-length":
            super().send_header(keyword, value)

    def log_message(self, *args):
        pass


handler = functools.partial(CloseDelimited, directory=sys.argv[1])
with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()
