"""Digit tasks that need no download at run time, fed to a network as a sequence: sklearn's 8x8 digits
(``sklearn.datasets.load_digits``, 1797 images) and MNIST (28x28, 60,000 training and the official
10,000 test images, from the data cache that ``make data`` fills: :mod:`~shiftpsn.golden.train.mnist_data`).

* ``seq-digits``: row by row, T = 8 steps of 8 features (the small cousin of sequential CIFAR,
  MF-PSN Table 3).
* ``pixel-digits``: pixel by pixel, T = 64 steps of 1 feature (the small cousin of pixel CIFAR,
  MF-PSN Figure 5b / Table 10): a long-dependency task where the order k and the dilations matter.
* ``digits-t1``, ``digits-t2``: the few-time-step settings Window-LIF (Yao et al.)
  is built for: the image in T = 1 step of all 64 pixels, or T = 2 steps of 32 (rows 0-3, then rows
  4-7). Both digits tasks read the same image in the same row-major order, so folding either of
  them into 1 or 2 steps (8/T rows, or 64/T pixels, per step) gives this same input: at T = 1 and 2
  the two tasks are one task.

* ``seq-mnist``: MNIST row by row, T = 28 steps of 28 pixels (sequential MNIST).
* ``pixel-mnist``: MNIST pixel by pixel, T = 784 steps of 1 pixel (permutation-free pixel MNIST).

Inputs are integer pixels X scaled to float x = X * 2^input_exp exactly: digits 0..16 times 2^-4,
MNIST 0..255 times 2^-8 (so x < 1). The digits' train/test split is fixed (stratified, seeded by
``SPLIT_SEED``) so that every run, whatever its training seed, sees the same test set; MNIST's is the
official one (test images in their published order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shiftpsn.base.errors import UsageError

#: Seed of the one train/test split every run uses.
SPLIT_SEED = 0
#: Share of the 1797 images held out for testing.
TEST_FRACTION = 0.25
NUM_CLASSES = 10


@dataclass(frozen=True)
class TaskShape:
    """Time steps and features per step of a task, its image set and the scale of its inputs (float
    input = integer pixel * 2^input_exp, exactly)."""

    steps: int
    features: int
    dataset: str = "digits"
    input_exp: int = -4


TASKS = {
    "seq-digits": TaskShape(steps=8, features=8),
    "pixel-digits": TaskShape(steps=64, features=1),
    "digits-t1": TaskShape(steps=1, features=64),
    "digits-t2": TaskShape(steps=2, features=32),
    "seq-mnist": TaskShape(steps=28, features=28, dataset="mnist", input_exp=-8),
    "pixel-mnist": TaskShape(steps=784, features=1, dataset="mnist", input_exp=-8),
}


@dataclass(frozen=True)
class TaskData:
    """A task's split: ``x_*`` float32 (N, T, F) in [0, 1], ``y_*`` int64 (N,)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def shape(self) -> TaskShape:
        return TASKS[self.name]


def check_task(name: str) -> TaskShape:
    """The shape of task ``name``; UsageError (one line) for an unknown task."""
    try:
        return TASKS[name]
    except KeyError:
        raise UsageError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}") from None


def check_data(name: str) -> None:
    """Fail early (UsageError, one line naming ``make data``) when task ``name`` needs a data cache that
    is missing or damaged; the digits need none."""
    if check_task(name).dataset == "mnist":
        from .mnist_data import load_mnist

        load_mnist()


def load_task(name: str, *, train_subset: int | None = None, test_subset: int | None = None) -> TaskData:
    """Load task ``name`` with the fixed stratified split.

    Parameters
    ----------
    name : str
        A name of :data:`TASKS`.
    train_subset, test_subset : int, optional
        Keep only the first this many samples of each split (smoke tests).
    """
    shape = check_task(name)
    x_tr, y_tr, x_te, y_te = _LOADERS[shape.dataset]()
    # asking for more samples than exist is an error, not a silent cut (flags named as on the CLI)
    for flag, n, have in (("--train-subset", train_subset, len(x_tr)), ("--test-subset", test_subset, len(x_te))):
        if n is not None and n > have:
            raise UsageError(f"{flag} {n} is larger than the {name} {flag[2:-7]} set ({have} samples)")
    x_tr, y_tr = x_tr[:train_subset], y_tr[:train_subset]  # [:None] keeps all
    x_te, y_te = x_te[:test_subset], y_te[:test_subset]

    def floats(pixels: np.ndarray) -> np.ndarray:  # integer pixels -> x = X * 2^input_exp, exact
        x = (pixels.astype(np.float32) * np.float32(2.0 ** shape.input_exp)).reshape(-1, shape.steps,
                                                                                  shape.features)
        return np.ascontiguousarray(x)

    return TaskData(name, floats(x_tr), y_tr.astype(np.int64), floats(x_te), y_te.astype(np.int64))


def _digits() -> tuple[np.ndarray, ...]:
    """sklearn's digits as integer pixels 0..16 (N, 8, 8), split as the module docstring says."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    # 8x8 images, rows top to bottom, pixels left to right within a row
    x, y = digits.images.astype(np.int64), digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED,
                                              stratify=y)
    return x_tr, y_tr, x_te, y_te


def _mnist() -> tuple[np.ndarray, ...]:
    """MNIST as integer pixels 0..255 (N, 28, 28) from the data cache (UsageError naming ``make data``
    when it is missing or damaged)."""
    from .mnist_data import load_mnist

    d = load_mnist()
    return d["x_train"], d["y_train"], d["x_test"], d["y_test"]


_LOADERS = {"digits": _digits, "mnist": _mnist}
