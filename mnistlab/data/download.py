"""A pooch downloader that stops a download at a size and at a deadline.

pooch's own ``HTTPDownloader`` has only requests' timeout, a limit on each read: a mirror that
streams without end, or sends a byte a second, would hold it forever. This one, a callable
``downloader(url, output_file, pooch)`` as pooch accepts, also stops

- at ``max_bytes``: as soon as the server announces or sends more than the file can hold;
- at ``deadline`` seconds after the request began, checked after every read. Each read
  returns what has arrived, up to a chunk, so a trickling server is stopped at its first
  byte after the deadline; one that sends nothing is stopped by the read timeout.

It raises subclasses of ``requests.RequestException``, as a failed download does in pooch, so
pooch deletes the partial file and the caller moves on to the next mirror.
"""

import sys
import time
from collections.abc import Iterator
from typing import Any

import requests
from requests import exceptions
from urllib3 import exceptions as urllib3_exceptions

CHUNK = 64 * 1024
"""The most bytes one read returns: pooch's own chunk size is 1 kB; larger is faster."""


class Stopped(exceptions.RequestException):
    """The download was stopped by a limit; ``str(err)`` says which, in a few words."""


class TooLarge(Stopped):
    """The server announced or sent more bytes than the file can hold."""


class TooSlow(Stopped):
    """The download was not complete by its deadline."""


class BoundedDownloader:
    """Download over HTTP(S) into pooch's temporary file, stopping at a size or a deadline.

    ``timeout`` limits connecting and each read, as in pooch's ``HTTPDownloader``; with
    ``progressbar`` a tqdm bar is drawn on stderr, as pooch draws it.
    """

    def __init__(
        self, max_bytes: int, deadline: float, timeout: float, progressbar: bool = False
    ) -> None:
        self.max_bytes, self.deadline = max_bytes, deadline
        self.timeout, self.progressbar = timeout, progressbar

    def __call__(self, url: str, output_file: str, pooch: Any) -> None:
        end = time.monotonic() + self.deadline
        with requests.get(url, stream=True, timeout=self.timeout) as response:
            response.raise_for_status()
            announced = int(response.headers.get("content-length") or 0)
            if announced > self.max_bytes:
                raise self._too_large()
            with open(output_file, "w+b") as out, _progress(self.progressbar, announced) as bar:
                for chunk in self._chunks(response, end):
                    out.write(chunk)
                    bar.update(len(chunk))

    def _chunks(self, response: requests.Response, end: float) -> Iterator[bytes]:
        """The body as it arrives, until it ends or passes ``max_bytes`` or ``end``."""
        received = 0
        while chunk := _read(response.raw):
            received += len(chunk)
            if received > self.max_bytes:
                raise self._too_large()
            if time.monotonic() > end:
                raise TooSlow(f"not complete after {self.deadline:g} s, download stopped")
            yield chunk

    def _too_large(self) -> TooLarge:
        return TooLarge(f"more than {self.max_bytes:,} bytes, download stopped")


def _read(raw: Any) -> bytes:
    """Up to ``CHUNK`` bytes of the body: what one read from the connection brings.

    ``read1`` returns what has arrived, where ``read`` would wait for a whole chunk: at a
    byte a second, that is 18 hours between two looks at the deadline. urllib3 1.26 has no
    ``read1``; there the deadline is checked once per chunk. urllib3's errors become
    requests' as in ``Response.iter_content``, which this replaces.
    """
    read = getattr(raw, "read1", raw.read)
    try:
        return read(CHUNK, decode_content=True)
    except urllib3_exceptions.ProtocolError as err:  # the server hung up too early
        raise exceptions.ChunkedEncodingError(err) from err
    except urllib3_exceptions.DecodeError as err:
        raise exceptions.ContentDecodingError(err) from err
    except urllib3_exceptions.ReadTimeoutError as err:
        raise exceptions.ConnectionError(err) from err
    except urllib3_exceptions.SSLError as err:
        raise exceptions.SSLError(err) from err


class _NoBar:
    def __enter__(self) -> "_NoBar":
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def update(self, n: int) -> None:
        pass


def _progress(shown: bool, total: int) -> Any:
    """A tqdm bar as pooch draws one (ASCII on Windows, whose consoles may lack the blocks)."""
    if not shown:
        return _NoBar()
    from tqdm import tqdm

    ascii_only = sys.platform == "win32"
    return tqdm(
        total=total, ncols=79, ascii=ascii_only, unit="B", unit_scale=True, leave=True
    )
