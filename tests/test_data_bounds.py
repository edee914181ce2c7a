"""Gzip bombs: files of a few MB that inflate to GBs behind a valid header.

Each bomb is read by a process of its own whose address space is capped at 2 GB, as `prlimit
--as` would: reading one whole would raise MemoryError there (or need GBs of memory anywhere
else). The readers must answer with the one-line DataError, having read no more than the
header allows, and the process reports its peak resident memory.
"""

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from idx_server import idx_bytes, tiny_images, tiny_labels

from mnistlab.data import DataError
from mnistlab.data.idx import MAX_VALUES, read_idx
from mnistlab.data.tutorial_pickle import MAX_BYTES, read_tutorial_pickle

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/status are Linux's"
)

ADDRESS_SPACE = 2_000_000_000
"""The child's address-space limit in bytes, as in `prlimit --as=2000000000`."""
IMAGES_PER_CHUNK = 20_000
CHUNK = IMAGES_PER_CHUNK * 28 * 28
"""One block of zero bytes, a whole number of 28x28 images (15.7 MB)."""
CHUNKS = 100
"""How many blocks a bomb inflates to: 1.57 GB, 2,000,000 images."""
PEAK_RESIDENT = 768 * 2**20
"""What a child that refused a bomb may have held in memory at its peak: half the bomb. The
IDX reader needs a few tens of MB; the pickle reader up to its bound of 512 MiB."""


def gzip_member(data: bytes) -> bytes:
    """``data`` as one gzip member; a gzip file may be several members end to end."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    return packer.compress(data) + packer.flush()


def write_bomb(path: Path, pieces: list[bytes]) -> int:
    """Write ``pieces`` gzipped into ``path``, each piece followed by a ``CHUNK`` of zeros.

    The chunk of zeros is compressed once and its member repeated, so building a 1.5 GB bomb
    takes a fraction of a second and 16 MB of memory: `gzip -dc` and Python's gzip read the
    members as one stream. Returns the size of the file.
    """
    zeros = gzip_member(bytes(CHUNK))
    with path.open("wb") as out:
        for piece in pieces:
            out.write(gzip_member(piece))
            out.write(zeros)
    return path.stat().st_size


def idx_bomb(path: Path, images: int) -> Path:
    """An IDX images file whose header declares ``images`` images, then 1.57 GB of zeros."""
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", images, 28, 28)
    write_bomb(path, [header] + [b""] * (CHUNKS - 1))
    return path


def pickle_bomb(path: Path) -> Path:
    """A pickle that builds a list of 100 byte strings of 15.7 MB each: 1.57 GB of zeros."""
    binbytes = b"B" + struct.pack("<I", CHUNK)  # pickle opcode BINBYTES and its length
    pieces = [b"\x80\x02(" + binbytes] + [binbytes] * (CHUNKS - 1)  # PROTO 2, MARK
    write_bomb(path, pieces)
    with path.open("ab") as out:
        out.write(gzip_member(b"l."))  # LIST (from the mark), STOP
    return path


def dataset_folder(folder: Path, train_images: Path) -> Path:
    """A folder of the four IDX files, the training images being ``train_images``."""
    folder.mkdir()
    train_images.rename(folder / "train-images-idx3-ubyte.gz")
    for name, array in [
        ("train-labels-idx1-ubyte", tiny_labels(10)),
        ("t10k-images-idx3-ubyte", tiny_images(10, b"bomb")),
        ("t10k-labels-idx1-ubyte", tiny_labels(10)),
    ]:
        (folder / name).write_bytes(idx_bytes(array))
    return folder


CHILD = """
import json, os, resource, sys
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from mnistlab.data import DataError, load

def report():
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    kib = {key: int(status[key].split()[0]) for key in ("VmPeak", "VmHWM")}
    print(json.dumps(kib))

try:
    load(sys.argv[1])
except DataError as err:
    report()
    sys.exit(f"error: {err}")
report()
"""
"""Load ``argv[1]`` as ``--data`` does, under an address-space limit; print peak memory."""


def load_in_capped_process(path: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    # One BLAS thread: OpenBLAS reserves address space per thread, which on a many-core
    # machine alone could exceed the limit.
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(ADDRESS_SPACE)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    peak = json.loads(result.stdout) if result.stdout.strip() else {}
    return result, peak


def assert_refused_in_one_line(result: subprocess.CompletedProcess[str], peak: dict) -> None:
    assert result.returncode == 1, result.stderr[-2000:]  # sys.exit(message): status 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert peak["VmHWM"] * 1024 < PEAK_RESIDENT, peak


def test_an_idx_gzip_bomb_is_refused_by_its_header_under_a_2_gb_limit(tmp_path):
    bomb = idx_bomb(tmp_path / "bomb.gz", images=CHUNK * CHUNKS // 784)
    folder = dataset_folder(tmp_path / "data", bomb)
    assert (folder / "train-images-idx3-ubyte.gz").stat().st_size < 2_000_000

    result, peak = load_in_capped_process(folder)

    assert_refused_in_one_line(result, peak)
    assert result.stderr == (
        f"error: {folder / 'train-images-idx3-ubyte.gz'}: its header declares shape "
        f"(2000000, 28, 28) (1,568,000,000 values), more than the {MAX_VALUES:,} mnistlab "
        "reads from one IDX file; MNIST-style files hold tens of millions, so it is damaged "
        "or not an MNIST-style dataset\n"
    )


def test_an_idx_gzip_bomb_behind_a_small_header_is_read_only_as_far_as_it_declares(tmp_path):
    folder = dataset_folder(tmp_path / "data", idx_bomb(tmp_path / "bomb.gz", images=10))

    result, peak = load_in_capped_process(folder)

    assert_refused_in_one_line(result, peak)
    assert "has extra bytes at the end: its header declares shape (10, 28, 28)" in result.stderr


@pytest.mark.slow  # inflates 512 MiB of the bomb before the reader stops it
def test_a_pickle_gzip_bomb_is_cut_off_under_a_2_gb_limit(tmp_path):
    bomb = pickle_bomb(tmp_path / "mnist.pkl.gz")
    assert bomb.stat().st_size < 2_000_000

    result, peak = load_in_capped_process(bomb)

    assert_refused_in_one_line(result, peak)
    assert result.stderr == (
        f"error: {bomb}: it unpacks to more than {MAX_BYTES:,} bytes, more than a dataset "
        "in the tutorial's format needs (its mnist.pkl.gz unpacks to 220 MB); is this "
        "really the tutorial's mnist.pkl.gz?\n"
    )


# The same bounds in this process, on headers alone: nothing is inflated.


def test_an_idx_header_declaring_more_than_the_bound_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge-idx"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2**32 - 1, 28, 28))

    with pytest.raises(DataError, match=rf"^{path}: its header declares shape \(4294967295,"):
        read_idx(path)


def test_a_pickle_asking_for_more_than_the_bound_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.pkl"
    path.write_bytes(b"\x80\x02B" + struct.pack("<I", MAX_BYTES + 1))  # BINBYTES, no body

    with pytest.raises(DataError, match=rf"^{path}: it unpacks to more than {MAX_BYTES:,}"):
        read_tutorial_pickle(path)
