"""Test helpers for the data layer: small IDX files, and a real HTTP server to fetch them from.

The files are built from fixed bytes and left uncompressed, so their md5s can be pinned in the
tests as literals: gzip output depends on the zlib build (zlib-ng compresses differently), so
a pinned md5 of a gzipped file would not hold on every machine.
"""

import hashlib
import http.server
import threading
import time
from collections import Counter
from types import TracebackType

import numpy as np

N_TRAIN = 60
N_TEST = 20
N_VALID = 10


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

    The first path segment picks the mirror's behaviour: ``ok`` serves the files, ``missing``
    answers 404, ``broken`` answers 500, ``corrupt`` serves each file with one byte changed,
    ``slow`` waits ``SLOW_S`` seconds before serving. ``hits`` counts requests by path.
    """

    SLOW_S = 1.0

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.hits: Counter[str] = Counter()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.handle_error = lambda request, address: None  # clients that time out
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def mirror(self, behaviour: str) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/{behaviour}/"

    def __enter__(self) -> "MirrorServer":
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
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
                if behaviour == "slow":
                    time.sleep(server.SLOW_S)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Keep test output quiet."""

        return Handler
