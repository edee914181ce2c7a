"""Test helpers for the data layer: small IDX files, and a real HTTP server to fetch them from.

The files are built from fixed bytes and left uncompressed, so their md5s can be pinned in the
tests as literals: gzip output depends on the zlib build (zlib-ng compresses differently), so
a pinned md5 of a gzipped file would not hold on every machine.
"""

import hashlib
import http.server
import socket
import threading
from collections import Counter
from pathlib import Path
from types import TracebackType

import numpy as np

from mnistlab.data import DatasetSource

N_TRAIN = 60
N_TEST = 20
N_VALID = 10
PINNED_MD5 = {
    "train-images-idx3-ubyte": "ca7e29f61defddcecc67596c73fa177f",
    "train-labels-idx1-ubyte": "4d23281570bc32d71823a5764053e08a",
    "t10k-images-idx3-ubyte": "f953b052f96b7d2d1e5c7dc7955cdfe0",
    "t10k-labels-idx1-ubyte": "ca11a3ad58fc630275250e2d1e14f534",
}
"""The md5s of :func:`tiny_files`, written out as a registry entry pins them."""


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: magic, type 0x08, ndim, big-endian dims, values."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def tiny_images(n: int, seed: bytes) -> np.ndarray:
    """``n`` 28x28 uint8 images of pseudo-random pixels fixed by ``seed`` on every platform."""
    pixels = hashlib.shake_128(seed).digest(n * 28 * 28)
    return np.frombuffer(pixels, np.uint8).reshape(n, 28, 28)


def tiny_labels(n: int) -> np.ndarray:
    return (np.arange(n) % 10).astype(np.uint8)


def tiny_files() -> dict[str, bytes]:
    """A small dataset in the standard four IDX files: 60 train and 20 test digits."""
    return {
        "train-images-idx3-ubyte": idx_bytes(tiny_images(N_TRAIN, b"train")),
        "train-labels-idx1-ubyte": idx_bytes(tiny_labels(N_TRAIN)),
        "t10k-images-idx3-ubyte": idx_bytes(tiny_images(N_TEST, b"test")),
        "t10k-labels-idx1-ubyte": idx_bytes(tiny_labels(N_TEST)),
    }


class MirrorServer:
    """A threaded HTTP server on 127.0.0.1 that plays several mirrors of the same files.

    The first path segment picks the mirror's behaviour:

    - ``ok`` serves the files;
    - ``missing`` answers 404, ``broken`` answers 500;
    - ``corrupt`` serves each file with one byte changed;
    - ``html`` answers 200 with an HTML error page, as some proxies and portals do;
    - ``truncated`` announces the full Content-Length, sends half the body and hangs up;
    - ``slow`` waits ``SLOW_S`` seconds before answering, then serves the file;
    - ``stall`` sends the headers and half the body, then nothing for ``STALL_S`` seconds,
      and hangs up: a client without a read timeout would wait that long for every file.

    ``hits`` counts requests by path, across the handler threads (and so across client
    processes), so a test can tell how many times each file was downloaded.
    """

    SLOW_S = 1.0
    STALL_S = 10.0
    HTML_PAGE = b"<html><body><h1>Service unavailable</h1>Try again later.</body></html>"

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.hits: Counter[str] = Counter()
        self._hits_lock = threading.Lock()
        # Set on exit so that handlers sleeping for ``slow`` or ``stall`` return at once.
        self._closing = threading.Event()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.handle_error = lambda request, address: None  # clients that time out
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def mirror(self, behaviour: str) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/{behaviour}/"

    def mirrors(self, *behaviours: str) -> tuple[str, ...]:
        return tuple(self.mirror(behaviour) for behaviour in behaviours)

    def __enter__(self) -> "MirrorServer":
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._hits_lock:
                    server.hits[self.path] += 1
                _, behaviour, filename = self.path.split("/", 2)
                body = server.files.get(filename)
                if behaviour == "missing" or body is None:
                    self.send_error(404)
                    return
                if behaviour == "broken":
                    self.send_error(500)
                    return
                if behaviour == "corrupt":
                    body = body[:-1] + bytes([body[-1] ^ 0xFF])
                if behaviour == "html":
                    body = server.HTML_PAGE
                if behaviour == "slow":
                    server._closing.wait(server.SLOW_S)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if behaviour == "truncated":
                    self.wfile.write(body[: len(body) // 2])
                    return  # HTTP/1.0: returning closes the connection
                if behaviour == "stall":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    server._closing.wait(server.STALL_S)
                    return
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Keep test output quiet."""

        return Handler


def refused_mirror() -> str:
    """A mirror URL on 127.0.0.1 where nothing listens, so connecting is refused at once.

    The port is one the system just handed out and that was closed again, so no other test's
    server holds it (unlike a fixed port such as 1, which a sandbox might map elsewhere).
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/refused/"


def tiny_source(mirrors: tuple[str, ...], name: str = "tiny") -> DatasetSource:
    """A registry entry for :func:`tiny_files` served by ``mirrors``."""
    return DatasetSource(
        name=name, description="test digits", files=PINNED_MD5, mirrors=mirrors, n_valid=N_VALID
    )


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its content, except fetch's lock files."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix != ".lock"
    }


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes] | str]:
    """Everything below ``folder``: each file's size, mtime and bytes; each folder as "dir".

    Lock files included: a test compares two snapshots to show what a fetch changed.
    """
    return {
        str(p.relative_to(folder)): (
            "dir" if p.is_dir() else (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
        )
        for p in sorted(folder.rglob("*"))
    }
