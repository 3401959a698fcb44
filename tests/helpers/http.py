"""The one loopback HTTP server of the tests (the `server` fixture of
`conftest.py`) and the behaviours its routes can have.

Nothing leaves 127.0.0.1. A test maps paths to behaviours,
`server.routes["/w/x.h5"] = serve(data)`, and builds URLs with
`server.url("/w/x.h5")`; `server.hits` counts the requests per path.
Unknown paths get a 404.
"""

from __future__ import annotations

import collections
import contextlib
import http.server
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterator


class _State:
    def __init__(self):
        self.routes = {}
        self.hits = collections.Counter()
        self.lock = threading.Lock()
        self.release = threading.Event()


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        state = self.server.state
        path = urllib.parse.urlsplit(self.path).path
        with state.lock:
            state.hits[path] += 1
        behaviour = state.routes.get(path)
        if behaviour is None:
            self.send_error(404)
            return
        behaviour(self)

    def log_message(self, *args):
        pass


def _headers(handler, status, length, content_type):
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(length))
    handler.end_headers()


def serve(data, content_type="application/octet-stream"):
    def behaviour(handler):
        _headers(handler, 200, len(data), content_type)
        handler.wfile.write(data)

    return behaviour


def status(code):
    def behaviour(handler):
        handler.send_error(code)

    return behaviour


def _part(data, keep, then=None):
    """Announce the full length, send `keep` bytes, call `then(handler)`,
    close the connection."""

    def behaviour(handler):
        _headers(handler, 200, len(data), "application/octet-stream")
        handler.wfile.write(data[:keep])
        handler.wfile.flush()
        if then is not None:
            then(handler)
        handler.close_connection = True

    return behaviour


def truncate(data, keep):
    """Announce the full length, send `keep` bytes, close the connection."""
    return _part(data, keep)


def trickle(data, keep=None, pieces=4, pause=0.02):
    """Send the body slowly in pieces; stop after `keep` bytes and close."""
    keep = len(data) if keep is None else keep

    def behaviour(handler):
        _headers(handler, 200, len(data), "application/octet-stream")
        step = max(1, keep // pieces)
        for start in range(0, keep, step):
            handler.wfile.write(data[start : min(start + step, keep)])
            handler.wfile.flush()
            time.sleep(pause)
        handler.close_connection = True

    return behaviour


def _rst(handler):
    handler.connection.setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
    )
    handler.connection.close()


def reset(data, keep):
    """Send part of the body, then abort the connection with a RST."""
    return _part(data, keep, _rst)


def stall(data, keep):
    """Send part of the body, then hang until the test ends."""
    return _part(
        data, keep, lambda handler: handler.server.state.release.wait(10)
    )


class Server:
    def __init__(self, httpd):
        self.httpd = httpd
        self.state = httpd.state
        self.routes = self.state.routes
        self.hits = self.state.hits

    def url(self, path=""):
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"


@contextlib.contextmanager
def loopback_server() -> Iterator[Server]:
    """A threaded HTTP server on 127.0.0.1 (a free port) for the block."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.state = _State()
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield Server(httpd)
    finally:
        httpd.state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def serve_file(path):
    """A behaviour serving the file at `path`, read at each request."""

    def behaviour(handler):
        with open(path, "rb") as f:
            data = f.read()
        serve(data)(handler)

    return behaviour


def serve_folder(server: Server, root, prefix: str = "") -> None:
    """Routes every file under `root` at `<prefix>/<relative path>`."""
    from pathlib import Path

    root = Path(root)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            server.routes[f"{prefix}/{urllib.parse.quote(rel)}"] = serve_file(
                path
            )
