"""The IDX reader and the tutorial-pickle reader: round trips, each error, and fuzzing."""

import gzip
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from idx_server import idx_bytes, tiny_images, tiny_labels

from mnistlab.data import DataError
from mnistlab.data.idx import read_folder, read_idx, read_images, read_labels
from mnistlab.data.tutorial_pickle import read_tutorial_pickle

IMAGES = tiny_images(12, b"readers")
LABELS = tiny_labels(12)


def write(path: Path, data: bytes, gzipped: bool = False) -> Path:
    path.write_bytes(gzip.compress(data, mtime=0) if gzipped else data)
    return path


def tutorial_arrays(n: int = 12) -> tuple:
    x = np.linspace(0, 1, n * 784, dtype=np.float32).reshape(n, 784)
    y = np.arange(n, dtype=np.int64) % 10
    return (x, y), (x[:4], y[:4]), (x[4:], y[4:])


# --- IDX ----------------------------------------------------------------------------------


@pytest.mark.parametrize("gzipped", [False, True], ids=["raw", "gzipped"])
def test_idx_round_trip(tmp_path, gzipped):
    images = read_images(write(tmp_path / "images", idx_bytes(IMAGES), gzipped))
    labels = read_labels(write(tmp_path / "labels", idx_bytes(LABELS), gzipped))

    assert images.dtype == np.float32 and images.shape == (12, 784)
    np.testing.assert_array_equal(images, IMAGES.reshape(12, 784) / np.float32(255))
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, LABELS)


def test_idx_folder_takes_gzipped_and_raw_files_by_their_standard_names(tmp_path):
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(IMAGES), gzipped=True)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS))
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(IMAGES[:5]))
    write(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(LABELS[:5]), gzipped=True)

    (x_train, y_train), (x_test, y_test) = read_folder(tmp_path)

    assert x_train.shape == (12, 784) and y_test.tolist() == LABELS[:5].tolist()
    assert len(x_test) == 5 and len(y_train) == 12


HEADER = bytes([0, 0, 8, 3]) + np.array([12, 28, 28], ">u4").tobytes()
BODY = IMAGES.tobytes()


@pytest.mark.parametrize(
    ("data", "reader", "problem"),
    [
        (b"\0\0", read_idx, "too short for an IDX file"),
        (b"PK\3\4" + BODY, read_idx, "not an IDX file"),
        (b"\0\0\x0d\3" + HEADER[4:] + BODY, read_idx, "type code 0x0d is not supported"),
        (HEADER[:9], read_idx, "truncated IDX header"),
        (HEADER + BODY[:-1], read_idx, "truncated: its header declares shape (12, 28, 28)"),
        (HEADER + BODY + b"\0", read_idx, "has extra bytes at the end"),
        (idx_bytes(LABELS), read_images, "expected 28x28 images"),
        (idx_bytes(IMAGES[:, :27, :]), read_images, "expected 28x28 images"),
        (idx_bytes(IMAGES), read_labels, "expected one label per image"),
        (idx_bytes(LABELS + 1), read_labels, "labels must be digits 0..9, found 10"),
        (gzip.compress(HEADER + BODY)[:-9], read_idx, "cannot read it"),
    ],
    ids=[
        "short",
        "magic",
        "dtype",
        "header",
        "truncated",
        "extra",
        "labels-as-images",
        "27x28",
        "images-as-labels",
        "label-10",
        "broken-gzip",
    ],
)
def test_idx_errors_name_the_file_and_the_problem(tmp_path, data, reader, problem):
    path = write(tmp_path / "some-file-idx", data)

    with pytest.raises(DataError, match=re.escape(problem)) as raised:
        reader(path)

    assert str(path) in str(raised.value)


def test_idx_folder_errors(tmp_path):
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(IMAGES))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(LABELS[:11]))
    with pytest.raises(DataError, match="no t10k-images-idx3-ubyte\\[.gz\\]"):
        read_folder(tmp_path)
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(IMAGES))
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(LABELS))
    with pytest.raises(DataError, match="has 12 images but .*train-labels-idx1-ubyte has 11"):
        read_folder(tmp_path)


# --- tutorial pickle -------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("name", ["mnist.pkl.gz", "mnist.pkl"])
def test_tutorial_pickle_round_trip(tmp_path, protocol, name):
    arrays = tutorial_arrays()
    path = write(tmp_path / name, pickle.dumps(arrays, protocol), gzipped=name.endswith(".gz"))

    splits = read_tutorial_pickle(path)

    assert splits.name == str(path)
    assert splits.description.startswith(f"{path}: 12 train / 4 valid / 8 test")
    for got, want in zip(
        (splits.x_train, splits.y_train, splits.x_valid, splits.y_valid, splits.x_test),
        (*arrays[0], *arrays[1], arrays[2][0]),
        strict=True,
    ):
        np.testing.assert_array_equal(got, want)


class RunsACommand:
    """What an attacker would pickle: unpickling it calls os.system."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_malicious_pickle_is_refused_before_it_runs(tmp_path, protocol):
    pwned = tmp_path / "pwned"
    train, valid, test = tutorial_arrays()
    payload = (train, valid, (RunsACommand(f"touch {pwned}"), test[1]))
    path = write(tmp_path / "mnist.pkl.gz", pickle.dumps(payload, protocol), gzipped=True)

    with pytest.raises(DataError, match=r"refuses to load posix\.system.*only numpy arrays"):
        read_tutorial_pickle(path)

    assert not pwned.exists()


def test_pickle_may_not_use_codecs_other_than_latin1(tmp_path):
    class Rot13:
        def __reduce__(self):
            import codecs

            return codecs.encode, ("text", "rot13")

    path = write(tmp_path / "mnist.pkl", pickle.dumps(Rot13(), 2))

    with pytest.raises(DataError, match="codec 'rot13' is not allowed"):
        read_tutorial_pickle(path)


(X, Y), VALID, TEST = tutorial_arrays()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ((X, Y), "expected \\(\\(x_train, y_train\\)"),
        ([(X, Y), VALID, (X, Y, Y)], "expected \\(\\(x_train"),
        (((X.astype(np.float64), Y), VALID, TEST), "train images must be a float32 array"),
        (((X.reshape(-1, 28, 28), Y), VALID, TEST), "shape \\(N, 784\\), got float32 array"),
        (((X, Y.astype(np.int32)), VALID, TEST), "train labels must be an int64 array"),
        (((X, Y[:-1]), VALID, TEST), "labels must be an int64 array of shape \\(12,\\)"),
        (((X, Y), VALID, (TEST[0], TEST[1] + 10)), "test labels must be digits 0..9"),
        (((X * 255, Y), VALID, TEST), "train pixels must lie in \\[0, 1\\]"),
        (((X.tolist(), Y), VALID, TEST), "train images .* got list"),
    ],
    ids=["one-pair", "triple", "float64", "3d", "int32", "count", "label-19", "0-255", "list"],
)
def test_tutorial_pickle_with_wrong_content(tmp_path, content, problem):
    path = write(tmp_path / "mnist.pkl.gz", pickle.dumps(content, 2), gzipped=True)

    with pytest.raises(DataError, match=problem):
        read_tutorial_pickle(path)


# --- fuzzing: whatever the bytes, the readers raise DataError or succeed ----------------------

FUZZ = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
VALID_IDX = {"raw": idx_bytes(IMAGES[:2]), "gzipped": gzip.compress(idx_bytes(IMAGES[:2]), 1)}
VALID_PICKLE = {
    "raw": pickle.dumps(tutorial_arrays(2), 2),
    "gzipped": gzip.compress(pickle.dumps(tutorial_arrays(2), 2), 1),
}


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "input.pkl.gz"


@st.composite
def mutated(draw, originals: dict[str, bytes]) -> bytes:
    """A valid file with some bytes changed and possibly cut short."""
    data = bytearray(draw(st.sampled_from(sorted(originals.values()))))
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


def only_data_errors(reader, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        reader(path)
    except DataError as err:
        assert "\n" not in str(err)


@FUZZ
@given(data=st.binary(max_size=300) | mutated(VALID_IDX))
def test_idx_reader_raises_only_data_errors(fuzz_file, data):
    only_data_errors(read_images, fuzz_file, data)
    only_data_errors(read_labels, fuzz_file, data)


@FUZZ
@given(data=st.binary(max_size=300) | mutated(VALID_PICKLE))
def test_pickle_reader_raises_only_data_errors(fuzz_file, data):
    only_data_errors(read_tutorial_pickle, fuzz_file, data)
