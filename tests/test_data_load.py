"""load(): what each kind of --data value resolves to, and where the data folder is."""

import gzip
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import platformdirs
import pytest
from idx_server import idx_bytes, tiny_files, tiny_labels

from mnistlab.data import DataError, default_data_dir, is_cached, load, resolve_data_dir


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A data folder with nothing downloaded."""
    return tmp_path_factory.mktemp("data")


def test_data_dir_comes_from_the_environment_else_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("MNISTLAB_DATA", str(tmp_path))
    assert default_data_dir() == tmp_path
    assert resolve_data_dir(None) == tmp_path
    assert resolve_data_dir("~/elsewhere") == Path.home() / "elsewhere"

    monkeypatch.delenv("MNISTLAB_DATA")
    assert default_data_dir() == Path(platformdirs.user_cache_dir("mnistlab"))


def test_no_name_and_nothing_downloaded_gives_the_sample(data_dir):
    splits = load(None, data_dir)

    assert splits.name == "sample"
    assert splits.description.startswith("sample: 4,000 train / 1,000 valid")
    assert not is_cached("mnist", data_dir) and is_cached("sample", data_dir)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_a_dataset_not_downloaded_says_how_to_get_it(data_dir, name):
    with pytest.raises(DataError) as raised:
        load(name, data_dir)

    assert str(raised.value) == (
        f"{name} is not downloaded in {data_dir}; run `mnistlab data fetch {name}` "
        "or use --data sample"
    )


@pytest.mark.parametrize(
    ("spec", "suggestion"),
    [("mnsit", "did you mean 'mnist'?"), ("Sample", "did you mean 'sample'?"), ("cifar10", "")],
)
def test_an_unknown_name_suggests_the_closest(data_dir, spec, suggestion):
    with pytest.raises(DataError, match="is not a dataset name or an existing file or folder") as e:
        load(spec, data_dir)

    assert suggestion in str(e.value)
    assert "known datasets: sample, mnist, fashion-mnist" in str(e.value)


def test_a_pickle_file_path(data_dir, tmp_path):
    x = np.zeros((3, 784), np.float32)
    y = np.arange(3, dtype=np.int64)
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(((x, y), (x, y), (x, y)), 2)))

    splits = load(str(path), data_dir)

    assert splits.description == f"{path}: 3 train / 3 valid / 3 test " + (
        "from a file in the tutorial's mnist.pkl.gz format"
    )


def test_an_idx_folder_is_split_like_mnist(data_dir, tmp_path):
    n_train = 10_003
    images = np.zeros((n_train, 28, 28), np.uint8)
    images[:, 0, 0] = np.arange(n_train) % 256
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(tiny_labels(n_train)))
    for name, body in tiny_files().items():
        if name.startswith("t10k"):
            (tmp_path / name).write_bytes(body)

    splits = load(tmp_path, data_dir)

    assert splits.description == f"{tmp_path}: 3 train / 10,000 valid / 20 test from IDX files"
    assert splits.x_train[:, 0].tolist() == [0, 1 / np.float32(255), 2 / np.float32(255)]
    assert splits.y_valid[0] == 3


def test_an_idx_folder_too_small_to_hold_out_a_valid_split(data_dir, tmp_path):
    for name, body in tiny_files().items():
        (tmp_path / name).write_bytes(body)

    with pytest.raises(DataError, match="60 training images are too few to hold out the last"):
        load(tmp_path, data_dir)


def test_an_unsupported_file(data_dir, tmp_path):
    path = tmp_path / "digits.csv"
    path.write_text("0,0,0\n")

    with pytest.raises(DataError, match="digits.csv: unsupported file; give a .pkl.gz or .pkl"):
        load(path, data_dir)


def test_data_error_is_always_one_line():
    assert str(DataError("first\nsecond  third")) == "first second third"


def test_importing_the_data_package_stays_light():
    code = (
        "import sys, mnistlab.data; "
        "print(sorted({'torch', 'pooch', 'requests', 'mlxtend', 'filelock'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert result.stdout.strip() == "[]", result.stderr
