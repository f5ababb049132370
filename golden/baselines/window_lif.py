"""Window-LIF: the dilated-window, multi-direction LIF neuron of Yao, Wu, Chen and Zhang, "Training a
General Spiking Neural Network with Improved Efficiency and Minimum Latency" (docs/CONTRACT.md,
References), called *Window-LIF* below. Its equations and settings, as this module reads them:

* **Window partition** (section 3.1, Fig. 1, Eq. 4). A layer's feature map (H, W) is cut into
  2 x 2 non-overlapping *normal* windows G^1..G^4 (g = 4 groups, the best setting of Table 4), read
  in order G^1 top-left, G^2 top-right, G^3 bottom-left, G^4 bottom-right. Recomposition puts them
  back: :func:`partition` and :func:`recompose` are inverse.
* **Dilated windows** (section 3.1 and the appendix algorithm "Recomposed Computing"). Every other
  layer uses 2 x 2 windows of size M = 3L/4 per axis (half as large again as the normal L/2) at
  offsets 0 and L - M, which overlap by w_o = 2M - L = L/2. After the layer the windows are
  *weighted-condensed* back to L x L (:func:`condense`): the overlap of two windows is divided by 2,
  the centre, where all four overlap, by 4 -- the paper's weights 2 and 4. Condensed spikes become
  "median spikes" (0.25, 0.5, 0.75) that the *region threshold* Th_R = 0.1 turns into whole spikes
  (:func:`region_threshold`). The last layer uses normal windows (section 4.2, Fig. 4).
* **Group-to-group potential passing** (section 3.1, Eq. 4, Eq. 10). Within a time step the windows
  are processed in order; window p starts from the membrane potential of window p - 1 (position by
  position: windows have the same size), so the potential accumulates across the feature map. The
  chain continues "up to iteration T": window 1 of step t starts from window P of step t - 1; the
  chain starts from 0.
* **Multi-direction fusion** (section 3.2, Eq. 5). The potential a window starts from fuses the
  previous window's potential G_m with the previous layer's potential G_m' at the same window
  position through the projection::

      Omega(G_m, G_m') = 2 sin(theta pi / 2 G_m) cos(theta pi / 2 G_m')          (Eq. 5)

  with the radian factor theta = 0.5 (section 4.3, Fig. 5). In the first layer, or a layer whose
  predecessor is not a Window-LIF layer, G_m' = 0 and Omega = 2 sin(theta pi / 2 G_m).
* **LIF update with reset** (Eq. 6 with the fused potential of Eq. 9)::

      V^p = alpha Omega(V^{p-1}, V'^p) + I^p - delta S^{p-1}                      (Eq. 6, 9)
      S^p = Theta(V^p - delta)                                                    (Eq. 3, 6)

  (soft reset: the previous element's spike takes delta off), threshold delta = 0.5 (section 4.3:
  twice the threshold stays below the maximum 2 of Omega). The paper gives no value for the leak
  alpha; the default 0.5 is 1 - 1/tau with the tau = 2 of the LIF this project compares against.

The Heaviside step has a surrogate gradient (arctan, alpha 2, like every neuron of the comparison);
the reset uses the detached spike like the project's LIF baseline; the region threshold passes its
gradient straight through. Time-first input (T, N, C) -- the C channels are laid out as a grid
(:func:`grid_shape`, 8 x 8 for C = 64) -- or (T, N, C, H, W), windows over (H, W) for every channel.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._common import check_time_first, default_surrogate

#: Windows per axis (2 x 2 = the g = 4 groups of Table 4); the appendix algorithm is written for 2.
WINDOWS = 2
FUSIONS = ("sin", "sum")


def grid_shape(channels: int) -> tuple[int, int]:
    """The (h, w) grid the C channels of a (T, N, C) input are laid out on, row-major: both sides
    multiples of 4 (so that normal and dilated windows fit and every layer of a network has the same
    grid), h the smallest such side >= sqrt(C), w the smallest that makes h w >= C. Cells past C get
    no current and are dropped from the output. 64 -> (8, 8), 16 -> (4, 4), 32 -> (8, 4), 6 -> (4, 4)."""
    if channels < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    h = 4 * math.ceil(math.sqrt(channels) / 4)
    return h, 4 * math.ceil(channels / (4 * h))


def partition(x: torch.Tensor, windows: int = WINDOWS) -> torch.Tensor:
    """Normal windows (section 3.1): (..., H, W) -> (..., P, H/n, W/n) with n = ``windows`` per
    axis and P = n^2 windows in row-major order (G^1 top-left, G^2 to its right, ...)."""
    h, w = x.shape[-2:]
    if h % windows or w % windows:
        raise ValueError(f"a {h} x {w} map does not split into {windows} x {windows} equal windows")
    lead = x.shape[:-2]
    y = x.reshape(*lead, windows, h // windows, windows, w // windows)
    y = y.movedim(-2, -3)  # (..., n_rows, n_cols, h/n, w/n)
    return y.reshape(*lead, windows * windows, h // windows, w // windows)


def recompose(g: torch.Tensor, windows: int = WINDOWS) -> torch.Tensor:
    """Inverse of :func:`partition`: (..., P, h, w) -> (..., n h, n w)."""
    lead, (p, h, w) = g.shape[:-3], g.shape[-3:]
    if p != windows * windows:
        raise ValueError(f"expected {windows * windows} windows, got {p}")
    y = g.reshape(*lead, windows, windows, h, w).movedim(-3, -2)  # (..., n_rows, h, n_cols, w)
    return y.reshape(*lead, windows * h, windows * w)


def dilated_size(length: int) -> tuple[int, int]:
    """(M, w_o) of the appendix algorithm for a map side L: M = 3L/4, w_o = 2M - L (L % 4 == 0)."""
    if length % 4 or length < 4:
        raise ValueError(f"dilated windows need a map side divisible by 4, got {length}")
    m = 3 * length // 4
    return m, 2 * m - length


def partition_dilated(x: torch.Tensor) -> torch.Tensor:
    """Dilated windows (section 3.1): (..., H, W) -> (..., 4, M_h, M_w), M = 3L/4 per axis, at
    offsets 0 and L - M, order G^1 top-left, G^2 top-right, G^3 bottom-left, G^4 bottom-right."""
    h, w = x.shape[-2:]
    mh, _ = dilated_size(h)
    mw, _ = dilated_size(w)
    rows = (slice(0, mh), slice(h - mh, h))
    cols = (slice(0, mw), slice(w - mw, w))
    return torch.stack([x[..., r, c] for r in rows for c in cols], dim=-3)


def _condense_pair(a: torch.Tensor, b: torch.Tensor, dim: int, w_o: int) -> torch.Tensor:
    """Steps 1 and 2 of the appendix algorithm along ``dim``: average the overlap, concatenate."""
    half = w_o // 2
    cover = (a.narrow(dim, half, w_o) + b.narrow(dim, 0, w_o)) / 2  # 1: condense the overlap
    rest = b.shape[dim] - w_o
    return torch.cat([a.narrow(dim, 0, half), cover, b.narrow(dim, w_o, rest)], dim=dim)  # 2


def condense(g: torch.Tensor) -> torch.Tensor:
    """Weighted condense of the appendix algorithm "Recomposed Computing": (..., 4, M_h, M_w) ->
    (..., L_h, L_w). G^1 with G^2 and G^3 with G^4 along the columns, then the two along the rows;
    each overlap is halved, so a value in the centre (four windows) counts 1/4, one on an edge
    overlap (two windows) 1/2 -- the weights 4 and 2 of section 3.1."""
    if g.shape[-3] != 4:
        raise ValueError(f"expected the 4 dilated windows, got {g.shape[-3]}")
    mh, mw = g.shape[-2:]
    lh, lw = 4 * mh // 3, 4 * mw // 3
    if dilated_size(lh)[0] != mh or dilated_size(lw)[0] != mw:
        raise ValueError(f"{mh} x {mw} is not a dilated window size (3L/4)")
    woh, wow = 2 * mh - lh, 2 * mw - lw
    g1, g2, g3, g4 = g.unbind(-3)
    top = _condense_pair(g1, g2, -1, wow)
    bottom = _condense_pair(g3, g4, -1, wow)
    return _condense_pair(top, bottom, -2, woh)


def region_threshold(ms: torch.Tensor, th_r: float = 0.1) -> torch.Tensor:
    """Median spikes above Th_R become whole spikes (section 3.1): forward Theta(Ms - Th_R) (strictly
    above), backward the identity (straight-through)."""
    hard = (ms.detach() > th_r).to(ms.dtype)
    return ms + (hard - ms).detach()


def project(gm: torch.Tensor, gm_prime: torch.Tensor | None = None, theta: float = 0.5) -> torch.Tensor:
    """The projection Omega of Eq. 5: 2 sin(theta pi/2 G_m) cos(theta pi/2 G_m'); G_m' = None is 0."""
    a = theta * math.pi / 2
    s = 2 * torch.sin(a * gm)
    return s if gm_prime is None else s * torch.cos(a * gm_prime)


def is_dilated_layer(layer: int, layers: int) -> bool:
    """Normal and dilated windows alternate, normal first, and the last layer is normal (section
    4.2): layers 0, 2, 4, ... normal, 1, 3, ... dilated (0-based)."""
    return layer % 2 == 1 and layer != layers - 1


class WindowLIF(nn.Module):
    """Window-LIF neuron layer (see the module docstring for the equations).

    Parameters
    ----------
    channels : int
        C, to lay out a (T, N, C) input on its grid (:func:`grid_shape`; unused for 5-D input).
    dilated : bool
        Dilated windows with weighted condense and region threshold; else normal windows.
    windows : int
        Normal windows per axis: 2 (g = 4 groups, the default and the only choice for dilated
        windows) or 1 (g = 1: no partition, Table 4's first row; the chain then only runs over time).
    theta : float
        Radian factor of Eq. 5 (0.5).
    v_threshold : float
        delta (0.5).
    alpha : float
        Leak of Eq. 6 (0.5; the paper gives none).
    region_th : float or None
        Th_R (0.1); None keeps the median spikes (Table 1's "MSp" variant).
    fusion : {"sin", "sum"}
        ``sin``: Omega of Eq. 5; ``sum``: the linear fusion G_m + G_m' the paper argues against
        (section 3.2, Fig. 5a), for ablations.
    detach_reset : bool
    surrogate : callable, optional
    """

    def __init__(self, channels: int, dilated: bool = False, theta: float = 0.5, v_threshold: float = 0.5,
                 alpha: float = 0.5, region_th: float | None = 0.1, fusion: str = "sin",
                 detach_reset: bool = True, surrogate=None, windows: int = WINDOWS):
        super().__init__()
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
        if windows not in (1, 2) or (dilated and windows != WINDOWS):
            raise ValueError(f"windows must be 1 or 2 per axis (2 for dilated windows), got {windows}")
        self.windows = windows
        self.channels, self.dilated, self.theta = channels, dilated, theta
        self.v_threshold, self.alpha, self.region_th, self.fusion = v_threshold, alpha, region_th, fusion
        self.detach_reset = detach_reset
        self.grid = grid_shape(channels)
        self.surrogate = surrogate or default_surrogate()
        # (T, B, H, W) potential of the last forward, kept only while a linked next layer needs it
        self.last_potential: torch.Tensor | None = None
        self._feeds_next = False
        object.__setattr__(self, "_previous", None)  # a plain reference, not a submodule

    # ----------------------------------------------------------------------------- layout
    def link_previous(self, previous: nn.Module | None) -> None:
        """Fuse the potential of ``previous`` (the layer before, run first on the same batch) as the
        second direction G_m' of Eq. 5; a neuron that is no Window-LIF gives G_m' = 0."""
        previous = previous if isinstance(previous, WindowLIF) else None
        object.__setattr__(self, "_previous", previous)
        if previous is not None:
            previous._feeds_next = True

    def _to_maps(self, x: torch.Tensor) -> torch.Tensor:
        """(T, N, C) -> (T, N, h, w); (T, N, C, H, W) -> (T, N C, H, W)."""
        if x.dim() == 3:
            if x.shape[2] != self.channels:
                raise ValueError(f"WindowLIF: built for C = {self.channels}, got {x.shape[2]}")
            h, w = self.grid
            if h * w > self.channels:
                x = torch.nn.functional.pad(x, (0, h * w - self.channels))
            return x.reshape(x.shape[0], x.shape[1], h, w)
        if x.dim() == 5:
            return x.reshape(x.shape[0], x.shape[1] * x.shape[2], *x.shape[3:])
        raise ValueError(f"WindowLIF: expected (T, N, C) or (T, N, C, H, W), got shape {tuple(x.shape)}")

    def _split(self, m: torch.Tensor) -> torch.Tensor:
        """(T, B, H, W) -> (T, P, B, h, w) windows of this layer."""
        g = partition_dilated(m) if self.dilated else partition(m, self.windows)
        return g.movedim(-3, 1)

    def _merge(self, g: torch.Tensor) -> torch.Tensor:
        """(T, P, B, h, w) -> (T, B, H, W): weighted condense or recomposition."""
        g = g.movedim(1, -3)
        return condense(g) if self.dilated else recompose(g, self.windows)

    def _fuse(self, gm: torch.Tensor, gm_prime: torch.Tensor | None) -> torch.Tensor:
        if self.fusion == "sum":
            return gm if gm_prime is None else gm + gm_prime
        return project(gm, gm_prime, self.theta)

    # ----------------------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_time_first(x, None, type(self).__name__)
        maps = self._to_maps(x)
        cur = self._split(maps)  # (T, P, B, h, w)
        prev = None
        if self._previous is not None:  # consume it: the graph is not kept beyond this batch
            prev, self._previous.last_potential = self._previous.last_potential, None
        if prev is not None and prev.shape != maps.shape:
            raise ValueError(f"WindowLIF: the previous layer's potential {tuple(prev.shape)} does not "
                             f"match this layer's map {tuple(maps.shape)}")
        other = self._split(prev) if prev is not None else None
        steps, windows = cur.shape[:2]
        v = cur.new_zeros(cur.shape[2:])  # potential of the previous element of the chain
        s = cur.new_zeros(cur.shape[2:])
        vs, ss = [], []
        for t in range(steps):
            for p in range(windows):
                fused = self._fuse(v, None if other is None else other[t, p])
                s_r = s.detach() if self.detach_reset else s
                v = self.alpha * fused + cur[t, p] - self.v_threshold * s_r
                s = self.surrogate(v - self.v_threshold)
                vs.append(v)
                ss.append(s)
        shape = cur.shape
        potential = self._merge(torch.stack(vs).view(shape))
        spikes = self._merge(torch.stack(ss).view(shape))
        if self.dilated and self.region_th is not None:
            spikes = region_threshold(spikes, self.region_th)
        self.last_potential = potential if self._feeds_next else None
        if x.dim() == 3:
            return spikes.flatten(2)[..., :self.channels]
        return spikes.reshape(x.shape)

    def extra_repr(self) -> str:
        return (f"channels={self.channels}, grid={self.grid}, windows={self.windows}, dilated={self.dilated}, "
                f"theta={self.theta}, "
                f"v_threshold={self.v_threshold}, alpha={self.alpha}, region_th={self.region_th}, "
                f"fusion={self.fusion}")
