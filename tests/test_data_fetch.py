"""fetch() against a real HTTP server on 127.0.0.1 playing good and bad mirrors."""

import hashlib
import threading

import numpy as np
import pytest
from idx_server import (
    N_TEST,
    N_TRAIN,
    N_VALID,
    PINNED_MD5,
    MirrorServer,
    files_under,
    refused_mirror,
    tiny_files,
    tiny_images,
    tiny_source,
)

from mnistlab.data import DATASETS, DataError, DatasetSource, fetch, is_cached, load, sample

FILES = tiny_files()


@pytest.fixture(scope="module")
def server():
    with MirrorServer(FILES) as running:
        yield running


def test_generated_files_match_the_pinned_md5s():
    assert {name: hashlib.md5(body).hexdigest() for name, body in FILES.items()} == PINNED_MD5


def test_fetch_skips_a_404_mirror_then_loads_split_as_specified(server, tmp_path):
    source = tiny_source(server.mirrors("missing", "ok"))
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
    source = tiny_source(server.mirrors("corrupt", "ok"), name="corrupt-then-ok")

    folder = fetch(source, tmp_path, progress=False)

    assert server.hits["/corrupt/train-images-idx3-ubyte"] >= 1
    assert files_under(folder) == FILES  # the good bytes, and no temporary files left


def test_a_mirror_serving_only_bad_files_fails_and_keeps_nothing(server, tmp_path):
    source = tiny_source(server.mirrors("corrupt"), name="corrupt-only")

    with pytest.raises(DataError, match="could not download corrupt-only: every mirror failed"):
        fetch(source, tmp_path, progress=False)

    assert files_under(tmp_path) == {}
    with pytest.raises(DataError, match="not downloaded"):
        load(source, tmp_path)


def test_all_mirrors_failing_is_one_line_and_leaves_the_cache_as_it_was(server, tmp_path):
    damaged = tmp_path / "tiny" / "train-images-idx3-ubyte"
    damaged.parent.mkdir()
    damaged.write_bytes(FILES["train-images-idx3-ubyte"][:100])
    before = files_under(tmp_path)
    refused = refused_mirror()
    source = tiny_source((*server.mirrors("missing", "broken", "slow"), refused))

    with pytest.raises(DataError) as raised:
        fetch(source, tmp_path, progress=False, timeout=0.2)

    assert str(raised.value) == (
        "could not download tiny: every mirror failed (last: "
        f"{refused}train-images-idx3-ubyte: connection refused); "
        "try again later, or use --data sample or --data PATH"
    )
    assert files_under(tmp_path) == before


def test_a_mirror_slower_than_the_timeout_is_skipped(server, tmp_path):
    fetch(tiny_source(server.mirrors("slow", "ok")), tmp_path, progress=False, timeout=0.2)

    assert files_under(tmp_path / "tiny") == FILES


def test_fetching_again_uses_the_files_already_there(server, tmp_path):
    source = tiny_source(server.mirrors("ok"), name="refetch")
    fetch(source, tmp_path, progress=False)
    hits = server.hits.copy()

    fetch(source, tmp_path, progress=False)

    assert server.hits == hits


def test_two_fetches_at_once_download_each_file_once(server, tmp_path):
    source = tiny_source(server.mirrors("ok"), name="concurrent")
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
    monkeypatch.setitem(DATASETS, "mnist", tiny_source(server.mirrors("ok"), name="mnist"))
    assert load(None, tmp_path).name == "sample"

    fetch("mnist", tmp_path, progress=False)

    splits = load(None, tmp_path)
    assert splits.name == "mnist"
    assert splits.description.startswith("mnist: 50 train / 10 valid / 20 test")


def test_load_refuses_a_downloaded_file_that_no_longer_matches_its_md5(server, tmp_path):
    source = tiny_source(server.mirrors("ok"), name="tampered")
    folder = fetch(source, tmp_path, progress=False)
    labels = folder / "train-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1] + b"\x00")

    with pytest.raises(DataError, match="does not match its published md5.*data fetch tampered"):
        load(source, tmp_path)


def test_fetch_of_an_unknown_name_suggests_the_closest(tmp_path):
    with pytest.raises(DataError, match="did you mean 'fashion-mnist'"):
        fetch("fashion_mnist", tmp_path)


def test_fetch_sample_names_the_package_folder_and_writes_nothing(tmp_path):
    assert fetch("sample", tmp_path) == sample.FOLDER
    assert (sample.FOLDER / sample.IMAGES).is_file()
    assert list(tmp_path.iterdir()) == []


def test_registered_sources_pin_every_file():
    for source in DATASETS.values():
        assert len(source.files) == 4
        assert all(len(md5) == 32 for md5 in source.files.values())
        assert source.sizes.keys() == source.files.keys()  # downloads stop past these sizes
        assert all(1_000 < size < 100_000_000 for size in source.sizes.values())
        assert source.mirrors and source.n_valid == 10_000


def test_a_source_must_list_the_four_idx_files():
    with pytest.raises(ValueError, match="four IDX files"):
        DatasetSource("bad", "", {"train.csv": "0" * 32}, ("http://example.invalid/",))


def test_a_source_may_give_sizes_only_of_its_files():
    with pytest.raises(ValueError, match=r"sizes names files that are not in files: \['x.csv'\]"):
        DatasetSource("bad", "", PINNED_MD5, ("http://example.invalid/",), sizes={"x.csv": 1})


@pytest.mark.parametrize("mirrors", [(), "http://example.invalid/"])
def test_a_source_must_list_its_mirrors_in_a_tuple(mirrors):
    with pytest.raises(ValueError, match="mirrors must be a non-empty tuple of base URLs"):
        DatasetSource("bad", "", PINNED_MD5, mirrors)
