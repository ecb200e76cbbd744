"""A size-limiting reverse proxy in front of a package index, the way nginx's
``client_max_body_size`` guards an index in production.

Run as its own process (``python size_proxy.py UPSTREAM LIMIT``): it listens on 127.0.0.1 on a
random port (printed as its first line), forwards every request to ``UPSTREAM`` (method, path,
headers, body) and relays the answer, except a request whose body is larger than ``LIMIT``
bytes: that one gets ``413 Request Entity Too Large`` and never reaches the index. The body is
read (and dropped) before answering so the client sees the answer rather than a reset
connection. ``SizeProxy`` starts and stops that process from a test.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


def _handler(upstream: urllib.parse.SplitResult, limit: int) -> type[BaseHTTPRequestHandler]:
    class Forwarding(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self) -> bytes | None:
            """The request's body, or None when it is over ``limit`` (then read and dropped)."""
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                parts, total = [], 0
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                    total += size
                self.rfile.readline()
                return None if total > limit else b"".join(parts)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            return None if length > limit else body

        def _forward(self) -> None:
            body = self._body()
            if body is None:
                page = b"<html><center><h1>413 Request Entity Too Large</h1></center></html>\n"
                self.send_response(413, "Request Entity Too Large")
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(page)
                self.close_connection = True
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Host"] = upstream.netloc
            headers["Content-Length"] = str(len(body))
            connection = http.client.HTTPConnection(upstream.netloc, timeout=60)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            finally:
                connection.close()
            self.send_response(answer.status, answer.reason)
            for key, value in answer.getheaders():
                if key.lower() not in HOP_BY_HOP | {"content-length"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._forward()

        def do_POST(self) -> None:
            self._forward()

        def log_message(self, format: str, *args: object) -> None:
            sys.stderr.write(f"{self.command} {self.path} {format % args}\n")

    return Forwarding


def serve(upstream: str, limit: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(urllib.parse.urlsplit(upstream), limit))
    print(server.server_address[1], flush=True)
    server.serve_forever()


@dataclass
class SizeProxy:
    """The proxy process in front of ``upstream``; ``url`` is what clients use instead."""

    upstream: str
    limit: int
    port: int = 0
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> SizeProxy:
        self.process = subprocess.Popen(
            [sys.executable, __file__, self.upstream, str(self.limit)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
