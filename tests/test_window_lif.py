"""Window-LIF (Yao et al., "Training a General Spiking Neural Network with Improved Efficiency and
Minimum Latency") against hand-worked examples and the paper's own formulas.

Every expected value here is computed independently of shiftpsn.golden.baselines.window_lif: worked
by hand (written out below), from the paper's closed forms (Eq. 5, Eq. 20, Table 5), or by a scalar
loop written in this file.
"""

import math

import pytest
import torch

from shiftpsn.golden.baselines import NEURONS, NeuronArgs, build_neuron
from shiftpsn.golden.baselines.window_lif import (WindowLIF, condense, dilated_size, grid_shape,
                                                  is_dilated_layer, partition, partition_dilated,
                                                  project, recompose, region_threshold)


def potentials(neuron, x):
    """Spikes of ``neuron`` on ``x`` and its membrane potential V (T, B, H, W), read as the next layer
    reads it (a linked next layer makes the neuron keep it)."""
    WindowLIF(neuron.channels).link_previous(neuron)
    s = neuron(x)
    return s, neuron.last_potential


# ----------------------------------------------------------------------------- normal windows
def test_partition_hand_worked():
    # 4 x 4 map 0..15, 2 x 2 windows of 2 x 2: G1 top-left, G2 top-right, G3 bottom-left, G4 bottom-right
    x = torch.arange(16.0).view(4, 4)
    g = partition(x)
    assert g.tolist() == [[[0, 1], [4, 5]], [[2, 3], [6, 7]], [[8, 9], [12, 13]], [[10, 11], [14, 15]]]


@pytest.mark.parametrize("shape", [(4, 4), (3, 5, 8, 8), (2, 1, 3, 6, 10)])
def test_partition_and_recomposition_are_inverse(shape):
    torch.manual_seed(0)
    x = torch.randn(shape)
    g = partition(x)
    assert g.shape == (*shape[:-2], 4, shape[-2] // 2, shape[-1] // 2)
    assert torch.equal(recompose(g), x)
    assert torch.equal(partition(recompose(g)), g)


def test_partition_rejects_odd_maps():
    with pytest.raises(ValueError, match="equal windows"):
        partition(torch.zeros(3, 4))


def test_grid_shape():
    assert grid_shape(64) == (8, 8)  # the width of the training networks
    assert grid_shape(16) == (4, 4)
    assert grid_shape(6) == (4, 4)   # padded: 10 cells without current
    assert grid_shape(32) == (8, 4)


# ----------------------------------------------------------------------------- dilated windows
def test_dilated_sizes_of_the_appendix_algorithm():
    # M = 3L/4, w_o = 2M - L
    assert dilated_size(8) == (6, 4)
    assert dilated_size(4) == (3, 2)
    assert dilated_size(16) == (12, 8)
    with pytest.raises(ValueError):
        dilated_size(6)


def test_dilated_partition_hand_worked():
    # L = 4: windows of 3 x 3 at offsets 0 and 1
    x = torch.arange(16.0).view(4, 4)
    g = partition_dilated(x)
    assert g.tolist() == [[[0, 1, 2], [4, 5, 6], [8, 9, 10]],
                          [[1, 2, 3], [5, 6, 7], [9, 10, 11]],
                          [[4, 5, 6], [8, 9, 10], [12, 13, 14]],
                          [[5, 6, 7], [9, 10, 11], [13, 14, 15]]]


# how many dilated windows cover each row (and column) of an 8 x 8 map, counted by hand:
# rows 0-1 only the top windows (0..5), rows 2-5 both, rows 6-7 only the bottom ones (2..7)
COVER_8 = [1, 1, 2, 2, 2, 2, 1, 1]
COVER_4 = [1, 2, 2, 1]


@pytest.mark.parametrize("side,cover", [(8, COVER_8), (4, COVER_4)])
def test_weighted_condense_gives_weights_4_and_2(side, cover):
    m = 3 * side // 4
    # a 1 everywhere in window G1 (top-left), 0 in the others: every cell of G1 is divided by the
    # number of windows that cover it -- 4 in the centre, 2 on the edge overlaps, 1 in G1's own corner
    g = torch.zeros(4, m, m)
    g[0] = 1.0
    out = condense(g)
    for r in range(side):
        for c in range(side):
            expected = 1.0 / (cover[r] * cover[c]) if (r < m and c < m) else 0.0
            assert out[r, c].item() == expected, (r, c, out[r, c].item(), expected)
    weights = {round(1 / out[r, c].item()) for r in range(m) for c in range(m)}
    assert weights == {1, 2, 4}


def test_weighted_condense_median_spikes_and_region_threshold():
    # one spike in G1 at the centre cell (3, 3) of an 8 x 8 map (four windows overlap) -> Ms 0.25;
    # one in G2 at (0, 3) (the top edge overlap of G1 and G2; G2 starts at column 2) -> Ms 0.5
    g = torch.zeros(4, 6, 6)
    g[0, 3, 3] = 1.0
    g[1, 0, 1] = 1.0
    ms = condense(g)
    assert ms[3, 3].item() == 0.25 and ms[0, 3].item() == 0.5
    assert ms.sum().item() == 0.75
    s = region_threshold(ms, 0.1)
    assert s[3, 3].item() == 1.0 and s[0, 3].item() == 1.0 and s.sum().item() == 2.0


def test_weighted_condense_of_one_map_gives_it_back():
    torch.manual_seed(1)
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(condense(partition_dilated(x)), x, atol=1e-6)


def test_region_threshold_values_and_gradient():
    ms = torch.tensor([0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0], requires_grad=True)
    s = region_threshold(ms, 0.1)
    assert s.tolist() == [0, 0, 0, 1, 1, 1, 1]  # strictly above Th_R = 0.1
    s.sum().backward()
    assert ms.grad.tolist() == [1.0] * 7  # straight through


# ----------------------------------------------------------------------------- Eq. 5
@pytest.mark.parametrize("theta", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_projection_matches_eq5(theta):
    vals = [-3.0, -1.0, -0.25, 0.0, 0.3, 0.5, 1.0, 1.7, 4.0]
    gm = torch.tensor(vals, dtype=torch.float64).view(-1, 1).expand(-1, len(vals))
    gp = torch.tensor(vals, dtype=torch.float64).view(1, -1).expand(len(vals), -1)
    out = project(gm, gp, theta)
    for i, a in enumerate(vals):
        for j, b in enumerate(vals):
            expected = 2 * math.sin(theta * math.pi / 2 * a) * math.cos(theta * math.pi / 2 * b)
            assert out[i, j].item() == pytest.approx(expected, abs=1e-12)
    # one direction only: cos(0) = 1
    assert torch.allclose(project(gm, None, theta), 2 * torch.sin(theta * math.pi / 2 * gm))


def test_projection_hand_worked():
    # theta = 0.5: Omega(1, 1) = 2 sin(pi/4) cos(pi/4) = 1; Omega(2, 0) = 2 sin(pi/2) = 2 (the maximum);
    # Omega(x, x) = sin(theta pi x) (section 3.2: "a deformation of y = sin(theta pi x)")
    t = torch.tensor
    assert project(t(1.0), t(1.0), 0.5).item() == pytest.approx(1.0, abs=1e-6)
    assert project(t(2.0), t(0.0), 0.5).item() == pytest.approx(2.0, abs=1e-6)
    assert project(t(0.0), t(5.0), 0.5).item() == 0.0
    x = torch.linspace(-3, 3, 61, dtype=torch.float64)
    assert torch.allclose(project(x, x, 0.5), torch.sin(0.5 * math.pi * x))


# Table 5 of the paper (th = 0.5): S(theta) and nabla D = S - 3 th^3, printed to two decimals
TABLE5 = {0.1: (0.05, -0.31), 0.3: (0.16, -0.21), 0.5: (0.22, -0.14), 0.7: (0.24, -0.13), 0.9: (0.20, -0.17)}


@pytest.mark.parametrize("theta", sorted(TABLE5))
def test_projection_area_matches_eq20_and_table5(theta):
    th, n = 0.5, 400
    # midpoint rule for the integral of Omega over [th, 2 th]^2 (Eq. 12)
    step = th / n
    pts = th + step * (torch.arange(n, dtype=torch.float64) + 0.5)
    area = project(pts.view(-1, 1), pts.view(1, -1), theta).sum().item() * step * step
    # Eq. 20, the paper's closed form
    eq20 = 16 * math.sin(3 * theta * math.pi * th / 2) * math.sin(theta * math.pi * th / 4) ** 2 / (
        theta ** 2 * math.pi ** 2)
    assert area == pytest.approx(eq20, abs=1e-5)
    s_tab, d_tab = TABLE5[theta]
    # Table 5 cuts to two decimals (0.228 -> 0.22, -0.147 -> -0.14)
    assert math.trunc(area * 100) / 100 == pytest.approx(s_tab)
    assert math.trunc((area - 3 * th ** 3) * 100) / 100 == pytest.approx(d_tab)


# ----------------------------------------------------------------------------- the neuron
def reference_chain(x, alpha=0.5, theta=0.5, vth=0.5, other=None):
    """Eq. 6 / Eq. 9 on scalars: x[t][p] the current of window p (1 x 1 windows) at step t; the chain
    runs over windows, then on into the next step. other[t][p]: the previous layer's potential."""
    v, s = 0.0, 0.0
    vs, ss = [], []
    for t, row in enumerate(x):
        vr, sr = [], []
        for p, cur in enumerate(row):
            fused = 2 * math.sin(theta * math.pi / 2 * v)
            if other is not None:
                fused *= math.cos(theta * math.pi / 2 * other[t][p])
            v = alpha * fused + cur - vth * s
            s = 1.0 if v >= vth else 0.0
            vr.append(v)
            sr.append(s)
        vs.append(vr)
        ss.append(sr)
    return vs, ss


def _windows_1x1(rows):
    """(T, 4) currents of the four 1 x 1 windows of a 2 x 2 map -> (T, N=1, C=1, 2, 2) input."""
    return torch.tensor(rows, dtype=torch.float64).view(len(rows), 1, 1, 2, 2)


def test_chain_hand_worked():
    # T = 1, four 1 x 1 windows, alpha = theta = delta = 0.5:
    #   p1: V = 0.5 * 2 sin(0) + 0.6 = 0.6               -> S = 1
    #   p2: V = 0.5 * 2 sin(pi/4 * 0.6) + 0.2 - 0.5      = sin(0.4712) - 0.3 = 0.4540 - 0.3 = 0.1540 -> 0
    #   p3: V = sin(pi/4 * 0.1540) + 0.3                  = 0.1207 + 0.3 = 0.4207 -> 0
    #   p4: V = sin(pi/4 * 0.4207) + 0.2                  = 0.3244 + 0.2 = 0.5244 -> 1
    x = _windows_1x1([[0.6, 0.2, 0.3, 0.2]])
    s, v = potentials(WindowLIF(1), x)
    assert s.view(-1).tolist() == [1.0, 0.0, 0.0, 1.0]
    assert v.view(-1).tolist() == pytest.approx([0.6, 0.1540, 0.4207, 0.5244], abs=1e-4)


def test_chain_runs_on_into_the_next_time_step():
    torch.manual_seed(2)
    rows = (torch.rand(5, 4) * 1.6 - 0.3).tolist()
    vs, ss = reference_chain(rows)
    s, v = potentials(WindowLIF(1), _windows_1x1(rows))
    assert s.view(5, 4).tolist() == ss
    assert v.reshape(-1).tolist() == pytest.approx(sum(vs, []), abs=1e-12)


def test_second_direction_is_the_previous_layers_potential():
    torch.manual_seed(3)
    rows1 = (torch.rand(3, 4) * 1.6 - 0.3).tolist()
    rows2 = (torch.rand(3, 4) * 1.6 - 0.3).tolist()
    v1, _ = reference_chain(rows1)
    v2, s2 = reference_chain(rows2, other=v1)
    first, second = WindowLIF(1), WindowLIF(1)
    second.link_previous(first)
    first(_windows_1x1(rows1))
    s, v = potentials(second, _windows_1x1(rows2))
    assert s.view(3, 4).tolist() == s2
    assert v.reshape(-1).tolist() == pytest.approx(sum(v2, []), abs=1e-12)
    # without the link the second layer sees one direction only, and its potential differs
    alone = reference_chain(rows2)[0]
    assert potentials(WindowLIF(1), _windows_1x1(rows2))[1].reshape(-1).tolist() == pytest.approx(
        sum(alone, []), abs=1e-12)
    assert max(abs(a - b) for a, b in zip(sum(alone, []), sum(v2, []))) > 0.05


def test_one_window_is_a_lif_over_time_only():
    # g = 1 (Table 4's first row): no partition, so at T = 1 a spike is Theta(I - delta) and at T = 2
    # V[2] = alpha 2 sin(theta pi/2 V[1]) + I[2] - delta S[1] (Eq. 6 with Omega of one direction)
    torch.manual_seed(6)
    x = torch.randn(2, 3, 16, dtype=torch.float64)
    s = WindowLIF(16, windows=1)(x)
    s1 = (x[0] >= 0.5).double()
    assert torch.equal(s[0], s1)
    v2 = 0.5 * 2 * torch.sin(math.pi / 4 * x[0]) + x[1] - 0.5 * s1
    assert torch.equal(s[1], (v2 >= 0.5).double())
    with pytest.raises(ValueError, match="windows"):
        WindowLIF(16, dilated=True, windows=1)


def test_dilated_layer_condenses_spikes_to_whole_spikes():
    # 4 x 4 map, dilated windows of 3 x 3; a strong current at the centre cell (1, 1) only: it lies in
    # all four windows, so every window fires there; condensed (4 / 4) and thresholded it is 1
    x = torch.zeros(1, 1, 1, 4, 4, dtype=torch.float64)
    x[0, 0, 0, 1, 1] = 3.0
    s = WindowLIF(16, dilated=True)(x)
    assert s.shape == x.shape and set(s.unique().tolist()) <= {0.0, 1.0}
    assert s[0, 0, 0, 1, 1].item() == 1.0
    # the median spikes without the region threshold (Table 1's MSp variant): still 1 there
    ms = WindowLIF(16, dilated=True, region_th=None)(x)
    assert ms[0, 0, 0, 1, 1].item() == 1.0


@pytest.mark.parametrize("dilated", [False, True])
def test_gradients_flow_through_the_surrogate(dilated):
    torch.manual_seed(4)
    layers = [WindowLIF(64, dilated=d) for d in (False, dilated, False)]
    for prev, cur in zip(layers, layers[1:]):
        cur.link_previous(prev)
    x = (3 * torch.randn(4, 8, 64)).requires_grad_()
    h = x
    for n in layers:
        h = n(h * 1.5)  # large currents too: sin / cos stay bounded
    assert set(h.detach().unique().tolist()) <= {0.0, 1.0}
    h.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_gradient_reaches_the_previous_layer_through_the_fusion():
    # layer 2's spikes depend on layer 1's potential (G_m' of Eq. 5): a gradient reaches layer 1's input
    torch.manual_seed(5)
    first, second = WindowLIF(16), WindowLIF(16)
    second.link_previous(first)
    a = torch.randn(2, 3, 16, requires_grad=True)
    b = torch.randn(2, 3, 16)
    first(a)
    second(b).sum().backward()
    assert a.grad is not None and torch.isfinite(a.grad).all() and a.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- registry and training
def test_dilated_and_normal_windows_alternate_last_normal():
    assert [is_dilated_layer(i, 3) for i in range(3)] == [False, True, False]
    assert [is_dilated_layer(i, 4) for i in range(4)] == [False, True, False, False]
    assert [is_dilated_layer(i, 5) for i in range(5)] == [False, True, False, True, False]


def test_registry_and_network():
    from shiftpsn.golden.train.models import ModelConfig, SpikingMLP

    assert [m.windows for m in SpikingMLP(ModelConfig("seq-digits", "window-lif-g1")).neuron_layers().values()] == [1] * 3
    for name in ("window-lif", "window-lif-normal", "window-lif-sum", "window-lif-g1"):
        assert name in NEURONS
    n = build_neuron("window-lif", NeuronArgs(channels=64, steps=8, layer=1, layers=3))
    assert n.dilated and n.theta == 0.5 and n.v_threshold == 0.5 and n.region_th == 0.1
    net = SpikingMLP(ModelConfig("seq-digits", "window-lif", layers=4))
    neurons = list(net.neuron_layers().values())
    assert [m.dilated for m in neurons] == [False, True, False, False]
    assert [m._previous for m in neurons] == [None] + neurons[:-1]
    assert not any(m.dilated for m in SpikingMLP(ModelConfig("seq-digits", "window-lif-normal")).neuron_layers().values())
    assert {m.fusion for m in SpikingMLP(ModelConfig("seq-digits", "window-lif-sum")).neuron_layers().values()} == {"sum"}
    # the potential passed between layers belongs to one batch only
    net(torch.rand(5, 8, 8))
    assert all(m.last_potential is None for m in neurons)


@pytest.mark.parametrize("task", ["seq-digits", "digits-t1"])
def test_training_smoke(task, tmp_path):
    from shiftpsn.golden.train.checkpoints import load_checkpoint
    from shiftpsn.golden.train.loop import TrainConfig, train
    from shiftpsn.golden.train.models import ModelConfig

    cfg = TrainConfig(ModelConfig(task, "window-lif", width=16), epochs=2, seed=0, train_subset=128,
                      test_subset=64)
    result = train(cfg, tmp_path, progress=False)
    assert result.finite and 0.0 < result.firing_rate < 1.0
    model, _, _ = load_checkpoint(tmp_path / "model.pt")
    assert [m.dilated for m in model.neuron_layers().values()] == [False, True, False]


def test_few_step_tasks_fold_the_same_image():
    import numpy as np

    from shiftpsn.golden.train.tasks import TASKS, load_task

    assert (TASKS["digits-t1"].steps, TASKS["digits-t1"].features) == (1, 64)
    assert (TASKS["digits-t2"].steps, TASKS["digits-t2"].features) == (2, 32)
    seq, t2 = load_task("seq-digits"), load_task("digits-t2")
    # step 0 of T = 2 is rows 0-3 of the image, step 1 rows 4-7
    assert np.array_equal(t2.x_test[:, 0], seq.x_test[:, :4].reshape(450, 32))
    assert np.array_equal(t2.x_test[:, 1], seq.x_test[:, 4:].reshape(450, 32))
