"""Test helpers for the data layer: small IDX files, and a real HTTP server to fetch them from.

The files are built from fixed bytes and left uncompressed, so their md5s can be pinned in the
tests as literals: gzip output depends on the zlib build (zlib-ng compresses differently), so
a pinned md5 of a gzipped file would not hold on every machine.
"""

import hashlib
import http.server
import socket
import threading
import time
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
TINY_SIZES = {
    "train-images-idx3-ubyte": 16 + N_TRAIN * 784,
    "train-labels-idx1-ubyte": 8 + N_TRAIN,
    "t10k-images-idx3-ubyte": 16 + N_TEST * 784,
    "t10k-labels-idx1-ubyte": 8 + N_TEST,
}
"""The sizes of :func:`tiny_files` in bytes, as a registry entry records them."""


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
      and hangs up: a client without a read timeout would wait that long for every file;
    - ``endless`` sends zeros with no Content-Length, as long as the client reads them;
    - ``huge`` announces a Content-Length of 1 TiB, then does as ``endless``;
    - ``trickle`` announces the file's length, then sends one byte every ``TRICKLE_S``
      seconds: never silent for long enough for a read timeout.

    No handler sends for more than ``SEND_LIMIT_S`` seconds, or waits longer than that on a
    client that stopped reading, so every request ends by itself.

    ``hits`` counts requests by path, across the handler threads (and so across client
    processes), so a test can tell how many times each file was downloaded.
    """

    SLOW_S = 1.0
    STALL_S = 10.0
    TRICKLE_S = 0.05
    SEND_LIMIT_S = 10.0
    HUGE = 2**40
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
            timeout = server.SEND_LIMIT_S  # on the socket: a write to a client gone quiet

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
                if behaviour in ("endless", "huge", "trickle"):
                    self.send_for_long(behaviour, len(body))
                    return
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

            def send_for_long(self, behaviour: str, length: int) -> None:
                """Send zeros without end, or the file's length a byte at a time."""
                self.send_response(200)
                if behaviour == "huge":
                    self.send_header("Content-Length", str(server.HUGE))
                if behaviour == "trickle":
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                if behaviour == "trickle":
                    self.send_repeatedly(b"\0", length, server.TRICKLE_S)
                else:
                    self.send_repeatedly(bytes(65536), 2**14, 0)  # 1 GiB at most

            def send_repeatedly(self, chunk: bytes, times: int, pause: float) -> None:
                stop = time.monotonic() + server.SEND_LIMIT_S
                for _ in range(times):
                    if server._closing.wait(pause) or time.monotonic() > stop:
                        return
                    try:
                        self.wfile.write(chunk)
                    except OSError:  # the client hung up, as it should
                        return

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


def tiny_source(
    mirrors: tuple[str, ...], name: str = "tiny", sizes: dict[str, int] = TINY_SIZES
) -> DatasetSource:
    """A registry entry for :func:`tiny_files` served by ``mirrors``."""
    return DatasetSource(
        name=name,
        description="test digits",
        files=PINNED_MD5,
        mirrors=mirrors,
        n_valid=N_VALID,
        sizes=sizes,
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

    Lock files included: a test compares two snapshots to show what a fetch changed. A lock
    file's mtime is left out: taking the lock may open it for writing (some filelock versions
    truncate it), which touches nothing a reader relies on.
    """
    return {
        str(p.relative_to(folder)): (
            "dir" if p.is_dir() else (p.stat().st_size,
                                      0 if p.suffix == ".lock" else p.stat().st_mtime_ns,
                                      p.read_bytes())
        )
        for p in sorted(folder.rglob("*"))
    }
