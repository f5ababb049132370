"""Stimulus and result files (docs/CONTRACT.md section 3), validated against a core spec.

Stimulus: ``.npy``, integer dtype, shape (T, C) or (B, T, C), values within ``input_width``; with
``positions`` P > 1, (T, P, C) or (B, T, P, C).
Results: ``.npz`` with ``spikes`` (uint8) and ``acc`` (int64), both the stimulus' shape.

Streams carry ``lanes`` neurons per beat (shiftpsn.base.ports): :func:`to_beats` / :func:`from_beats`
convert between a (B, T, [P,] C) array and its beats (B, T, beats_per_step, lanes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import StimulusError, UsageError
from .limits import load_npy
from .paths import atomic_write, ensure_parent, prepare_output
from .spec import CoreSpec


def stimulus_shape(spec: CoreSpec) -> str:
    """The legal stimulus shapes of ``spec`` in words: (T, C) or (B, T, C); (T, P, C) or (B, T, P, C)."""
    return "(T, C) or (B, T, C)" if spec.positions == 1 else "(T, P, C) or (B, T, P, C)"


def check_stimulus(x, spec: CoreSpec, what: str = "stimulus") -> np.ndarray:
    """Validate an array and return it as int64 of shape (B, T, C), or (B, T, P, C) when
    ``spec.positions`` > 1. Raises StimulusError."""
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise StimulusError(f"{what}: dtype must be an integer type, got {x.dtype}")
    ndim = 2 if spec.positions == 1 else 3  # of one sequence
    if x.ndim not in (ndim, ndim + 1):
        raise StimulusError(f"{what}: shape must be {stimulus_shape(spec)}, got {x.shape}")
    if x.shape[-1] != spec.channels:
        raise StimulusError(f"{what}: last dimension is {x.shape[-1]}, expected channels = {spec.channels}")
    if spec.positions > 1 and x.shape[-2] != spec.positions:
        raise StimulusError(f"{what}: second to last dimension is {x.shape[-2]}, expected positions = "
                            f"{spec.positions}")
    x = fit_input_width(x, spec.input_width, what)
    return x[None] if x.ndim == ndim else x


def fit_input_width(x: np.ndarray, input_width: int, what: str) -> np.ndarray:
    """``x`` (an integer array) as int64 when it is non-empty and every value fits a signed
    ``input_width``-bit integer; StimulusError naming the first value that does not."""
    if x.size == 0:
        raise StimulusError(f"{what}: empty array of shape {x.shape}")
    lo, hi = -(1 << (input_width - 1)), (1 << (input_width - 1)) - 1
    bad = (x < lo) | (x > hi)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise StimulusError(f"{what}: value {x[idx]} at index {idx} does not fit input_width = "
                            f"{input_width} (range [{lo}, {hi}])")
    return x.astype(np.int64)


def to_beats(spec: CoreSpec, x: np.ndarray) -> np.ndarray:
    """(B, T, [P,] C) -> (B, T, beats_per_step, lanes): beat g, lane j holds neuron n = g*lanes + j,
    n = p*C + c (a view where numpy can)."""
    x = np.asarray(x)
    return x.reshape(x.shape[0], x.shape[1], spec.beats_per_step, spec.lanes)


def from_beats(spec: CoreSpec, y: np.ndarray) -> np.ndarray:
    """(B, T, beats_per_step, lanes) -> (B, T, C), or (B, T, P, C) when positions > 1."""
    y = np.asarray(y)
    tail = (spec.channels,) if spec.positions == 1 else (spec.positions, spec.channels)
    return y.reshape(y.shape[0], y.shape[1], *tail)


def load_stimulus(path: str | Path, spec: CoreSpec) -> tuple[np.ndarray, tuple]:
    """Load and validate a stimulus file. Returns (x as int64 (B, T, [P,] C), the file's original shape)."""
    path = Path(path)
    x = load_npy(path, "stimulus")  # header checked against MAX_STIMULUS_VALUES before allocating
    if not isinstance(x, np.ndarray):
        raise StimulusError(f"stimulus {path}: expected a .npy array, got an archive")
    return check_stimulus(x, spec, what=f"stimulus {path}"), x.shape


def check_results_path(path: str | Path, inputs=()) -> Path:
    """Check before any work that results can be written to ``path``: a ``.npz`` name, not a
    directory, none of the command's ``inputs``; its directory is created and probed."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"output {path} is a directory; give a file name ending in .npz")
    if path.suffix != ".npz":
        raise UsageError(f"output {path}: results are written as .npz (docs/CONTRACT.md section 3)")
    return prepare_output(path, inputs)


def save_results(path: str | Path, spikes: np.ndarray, acc: np.ndarray, shape: tuple | None = None) -> None:
    """Write results (creating the parent directory); ``shape`` (the stimulus' original shape)
    restores a (T, C) stimulus' shape."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"output {path} is a directory; give a file name ending in .npz")
    if path.suffix != ".npz":
        raise UsageError(f"output {path}: results are written as .npz (docs/CONTRACT.md section 3)")
    ensure_parent(path)
    spikes = np.asarray(spikes, dtype=np.uint8)
    acc = np.asarray(acc, dtype=np.int64)
    if shape is not None:
        spikes, acc = spikes.reshape(shape), acc.reshape(shape)
    atomic_write(path, lambda f: np.savez(f, spikes=spikes, acc=acc))


def load_results(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"results file not found: {path}")
    with np.load(path, allow_pickle=False) as z:
        if "spikes" not in z or "acc" not in z:
            raise UsageError(f"results {path}: expected arrays 'spikes' and 'acc'")
        return z["spikes"], z["acc"]


def random_stimulus(spec: CoreSpec, rng: np.random.Generator, batch: int, steps: int,
                    extreme_fraction: float = 0.1) -> np.ndarray:
    """Uniform random inputs (B, T, C), or (B, T, P, C) when positions > 1, with a share of the
    extremes input_min / input_max / 0 / -1."""
    tail = (spec.channels,) if spec.positions == 1 else (spec.positions, spec.channels)
    x = rng.integers(spec.input_min, spec.input_max + 1, size=(batch, steps, *tail), dtype=np.int64)
    pick = rng.random(x.shape) < extreme_fraction
    extremes = np.array([spec.input_min, spec.input_max, 0, -1], dtype=np.int64)
    x[pick] = rng.choice(extremes, size=int(pick.sum()))
    return x
