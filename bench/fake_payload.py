"""The test suite's Payload stand-in (`tests/payload_stub.py`) served over real HTTP on
127.0.0.1, for benchmarks and fault-injection runs whose workers are separate processes.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from tests.payload_stub import PayloadStub


class FakePayload:
    """A `PayloadStub` behind a threaded HTTP server; stop it with `close()`."""

    def __init__(self, stub: PayloadStub, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.stub = stub
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakePayload:
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Payload (Node's http server) sends with TCP_NODELAY; without it the body,
            # written after the headers, waits for the client's delayed ACK (~40 ms).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                prepared = requests.Request(
                    self.command,
                    f"{fake.url}{self.path}",
                    headers=dict(self.headers.items()),
                    data=body,
                ).prepare()
                with fake.lock:
                    try:
                        status, headers, content = fake.stub._dispatch(prepared)
                    except requests.ConnectionError:
                        self.close_connection = True
                        return
                raw = content if isinstance(content, bytes) else content.encode()
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PATCH = _serve

        return Handler
