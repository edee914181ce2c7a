"""fetch() against a real HTTP server on 127.0.0.1 playing good and bad mirrors."""

import dataclasses
import hashlib
import threading
from pathlib import Path

import numpy as np
import pytest
from idx_server import N_TEST, N_TRAIN, N_VALID, MirrorServer, tiny_files, tiny_images

from mnistlab.data import DATASETS, DataError, DatasetSource, fetch, is_cached, load

PINNED_MD5 = {
    "train-images-idx3-ubyte": "ca7e29f61defddcecc67596c73fa177f",
    "train-labels-idx1-ubyte": "4d23281570bc32d71823a5764053e08a",
    "t10k-images-idx3-ubyte": "f953b052f96b7d2d1e5c7dc7955cdfe0",
    "t10k-labels-idx1-ubyte": "ca11a3ad58fc630275250e2d1e14f534",
}
FILES = tiny_files()


@pytest.fixture(scope="module")
def server():
    with MirrorServer(FILES) as running:
        yield running


def tiny_source(server: MirrorServer, *behaviours: str, name: str = "tiny") -> DatasetSource:
    return DatasetSource(
        name=name,
        description="test digits",
        files=PINNED_MD5,
        mirrors=tuple(server.mirror(b) for b in behaviours),
        n_valid=N_VALID,
    )


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its content, except fetch's lock files."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix != ".lock"
    }


def test_generated_files_match_the_pinned_md5s():
    assert {name: hashlib.md5(body).hexdigest() for name, body in FILES.items()} == PINNED_MD5


def test_fetch_skips_a_404_mirror_then_loads_split_as_specified(server, tmp_path):
    source = tiny_source(server, "missing", "ok")
    assert not is_cached(source, tmp_path)

    folder = fetch(source, tmp_path, progress=True)

    assert folder == tmp_path / "tiny"
    assert server.hits["/missing/train-images-idx3-ubyte"] >= 1
    assert files_under(folder) == FILES
    assert is_cached(source, tmp_path)
    splits = load(source, tmp_path)
    train_images = tiny_images(N_TRAIN, b"train").reshape(N_TRAIN, -1) / np.float32(255)
    assert splits.name == "tiny"
    assert splits.description.startswith("tiny: 50 train / 10 valid / 20 test test digits")
    np.testing.assert_array_equal(splits.x_train, train_images[: N_TRAIN - N_VALID])
    np.testing.assert_array_equal(splits.x_valid, train_images[N_TRAIN - N_VALID :])
    np.testing.assert_array_equal(splits.y_valid, np.arange(N_TRAIN - N_VALID, N_TRAIN) % 10)
    assert splits.x_test.shape == (N_TEST, 784) and splits.y_test.dtype == np.int64
    assert len(splits.checksum) == 64


def test_a_file_failing_its_md5_is_deleted_and_the_next_mirror_used(server, tmp_path):
    source = tiny_source(server, "corrupt", "ok", name="corrupt-then-ok")

    folder = fetch(source, tmp_path, progress=False)

    assert server.hits["/corrupt/train-images-idx3-ubyte"] >= 1
    assert files_under(folder) == FILES  # the good bytes, and no temporary files left


def test_a_mirror_serving_only_bad_files_fails_and_keeps_nothing(server, tmp_path):
    source = tiny_source(server, "corrupt", name="corrupt-only")

    with pytest.raises(DataError, match="could not download corrupt-only from any mirror") as e:
        fetch(source, tmp_path, progress=False)

    assert "hash" in str(e.value)

    assert files_under(tmp_path) == {}
    with pytest.raises(DataError, match="not downloaded"):
        load(source, tmp_path)


def test_all_mirrors_failing_is_one_line_and_leaves_the_cache_as_it_was(server, tmp_path):
    damaged = tmp_path / "tiny" / "train-images-idx3-ubyte"
    damaged.parent.mkdir()
    damaged.write_bytes(FILES["train-images-idx3-ubyte"][:100])
    before = files_under(tmp_path)
    source = tiny_source(server, "missing", "broken", "slow")
    refused = "http://127.0.0.1:1/"  # nothing listens on port 1
    source = dataclasses.replace(source, mirrors=(*source.mirrors, refused))

    with pytest.raises(DataError) as raised:
        fetch(source, tmp_path, progress=False, timeout=0.2)

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("could not download tiny from any mirror (last error: ")
    assert message.endswith("check your connection, or use --data sample / --data PATH")
    assert files_under(tmp_path) == before


def test_a_mirror_slower_than_the_timeout_is_skipped(server, tmp_path):
    fetch(tiny_source(server, "slow", "ok"), tmp_path, progress=False, timeout=0.2)

    assert files_under(tmp_path / "tiny") == FILES


def test_fetching_again_uses_the_files_already_there(server, tmp_path):
    source = tiny_source(server, "ok", name="refetch")
    fetch(source, tmp_path, progress=False)
    hits = server.hits.copy()

    fetch(source, tmp_path, progress=False)

    assert server.hits == hits


def test_two_fetches_at_once_download_each_file_once(server, tmp_path):
    source = tiny_source(server, "ok", name="concurrent")
    errors: list[BaseException] = []
    hits_before = server.hits.copy()

    def fetch_in_thread() -> None:
        try:
            fetch(source, tmp_path, progress=False)
        except BaseException as err:  # reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=fetch_in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert files_under(tmp_path / "concurrent") == FILES
    assert server.hits - hits_before == {f"/ok/{name}": 1 for name in FILES}


def test_load_without_a_name_prefers_downloaded_mnist(server, tmp_path, monkeypatch):
    # DATASETS is the public registry; a test entry stands in for the real, 11 MB, MNIST.
    monkeypatch.setitem(DATASETS, "mnist", tiny_source(server, "ok", name="mnist"))
    assert load(None, tmp_path).name == "sample"

    fetch("mnist", tmp_path, progress=False)

    splits = load(None, tmp_path)
    assert splits.name == "mnist"
    assert splits.description.startswith("mnist: 50 train / 10 valid / 20 test")


def test_load_refuses_a_downloaded_file_that_no_longer_matches_its_md5(server, tmp_path):
    source = tiny_source(server, "ok", name="tampered")
    folder = fetch(source, tmp_path, progress=False)
    labels = folder / "train-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1] + b"\x00")

    with pytest.raises(DataError, match="does not match its published md5.*data fetch tampered"):
        load(source, tmp_path)


def test_fetch_of_an_unknown_name_suggests_the_closest(tmp_path):
    with pytest.raises(DataError, match="did you mean 'fashion-mnist'"):
        fetch("fashion_mnist", tmp_path)


def test_fetch_sample_builds_its_cache_without_the_network(tmp_path):
    assert fetch("sample", tmp_path) == tmp_path / "sample"
    assert sorted(p.name for p in (tmp_path / "sample").iterdir()) == [
        "x_train.npy",
        "x_valid.npy",
        "y_train.npy",
        "y_valid.npy",
    ]


def test_registered_sources_pin_every_file():
    for source in DATASETS.values():
        assert len(source.files) == 4
        assert all(len(md5) == 32 for md5 in source.files.values())
        assert source.mirrors and source.n_valid == 10_000


def test_a_source_must_list_the_four_idx_files():
    with pytest.raises(ValueError, match="four IDX files"):
        DatasetSource("bad", "", {"train.csv": "0" * 32}, ("http://example.invalid/",))
