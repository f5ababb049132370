"""Stateless layers in either layout (papers/000 Appendix B): every method of shiftpsn.golden.model.layers.SeqLayer
gives the outputs and gradients (input and parameters) of applying the module step by step."""

import pytest
import torch
from torch import nn

from shiftpsn.golden.accel import to_layout
from shiftpsn.golden.model.layers import SeqLayer

T, N = 4, 2


def modules():
    """(name, factory, per-step input shape)."""
    return [
        ("conv2d", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1, dilation=1), (N, 3, 6, 5)),
        ("conv2d_same", lambda: nn.Conv2d(3, 2, 3, padding="same", dilation=2, groups=1), (N, 3, 5, 5)),
        ("conv1d", lambda: nn.Conv1d(4, 4, 3, dilation=2, groups=2), (N, 4, 9)),
        ("maxpool2d", lambda: nn.MaxPool2d(2, ceil_mode=True), (N, 3, 5, 5)),
        ("maxpool1d", lambda: nn.MaxPool1d(3, 2, 1, dilation=2), (N, 3, 9)),
        ("avgpool2d", lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (N, 3, 6, 6)),
        ("avgpool1d", lambda: nn.AvgPool1d(2), (N, 3, 8)),
        ("adaptive2d", lambda: nn.AdaptiveAvgPool2d((2, None)), (N, 3, 5, 4)),
        ("adaptive1d", lambda: nn.AdaptiveAvgPool1d(3), (N, 3, 7)),
        ("linear", lambda: nn.Linear(5, 3), (N, 5)),
        ("flatten", lambda: nn.Flatten(), (N, 3, 2, 2)),
        ("relu", lambda: nn.ReLU(), (N, 3, 4)),
    ]


def run_and_grads(layer, x, g):
    x = x.detach().requires_grad_()
    y = layer(x)
    y.backward(g)
    return y.detach(), x.grad, {n: p.grad.clone() for n, p in layer.module.named_parameters()}


@pytest.mark.parametrize("name, factory, step_shape", modules(), ids=[m[0] for m in modules()])
def test_every_method_matches_step_by_step(name, factory, step_shape):
    torch.manual_seed(0)
    module = factory().double()
    x = torch.randn(T, *step_shape, dtype=torch.float64)  # time-first
    # reference: the module applied at each time step separately
    xs = x.detach().requires_grad_()
    ref = torch.stack([module(xs[t]) for t in range(T)])
    g = torch.randn_like(ref)
    ref.backward(g)
    ref_gx, ref_gp = xs.grad, {n: p.grad.clone() for n, p in module.named_parameters()}
    module.zero_grad()
    layer = SeqLayer(module)
    for layout in ("time-first", "time-last"):
        for method in layer.candidate_methods(layout):
            layer.layout, layer.method = layout, method
            y, gx, gp = run_and_grads(layer, to_layout(x, "time-first", layout), to_layout(g, "time-first", layout))
            module.zero_grad()
            what = f"{name} {layout} {method}"
            torch.testing.assert_close(to_layout(y.contiguous(), layout, "time-first"), ref, rtol=1e-12, atol=1e-12,
                                       msg=lambda m: f"{what} output: {m}")
            torch.testing.assert_close(to_layout(gx.contiguous(), layout, "time-first"), ref_gx, rtol=1e-12,
                                       atol=1e-12, msg=lambda m: f"{what} dX: {m}")
            for n in ref_gp:
                torch.testing.assert_close(gp[n], ref_gp[n], rtol=1e-11, atol=1e-11, msg=lambda m: f"{what} d{n}: {m}")


@pytest.mark.parametrize("bn, step_shape", [(nn.BatchNorm2d(3), (N, 3, 4, 5)), (nn.BatchNorm1d(3), (N, 3, 6)),
                                            (nn.BatchNorm1d(3), (N, 3))])
def test_batch_norm_statistics_over_time_and_batch(bn, step_shape):
    torch.manual_seed(1)
    x = torch.randn(T, *step_shape, dtype=torch.float64) * 3 + 1
    # reference: normalise each channel by the mean and biased variance over T, N and space
    dims = [d for d in range(x.dim()) if d != 2]
    mean, var = x.mean(dims, keepdim=True), x.var(dims, unbiased=False, keepdim=True)
    ref = (x - mean) / torch.sqrt(var + bn.eps)
    n = x.numel() // x.shape[2]
    for layout in ("time-first", "time-last"):
        if layout == "time-last" and x.dim() == 3:
            continue  # (T, N, C) time-last is (N, C, T): the BatchNorm1d case of the line above
        m = bn.__class__(3).double()
        layer = SeqLayer(m, layout)
        y = layer(to_layout(x, "time-first", layout))
        torch.testing.assert_close(to_layout(y.contiguous(), layout, "time-first"), ref, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(m.running_mean, 0.1 * mean.flatten())
        torch.testing.assert_close(m.running_var, 0.9 + 0.1 * var.flatten() * n / (n - 1))


def test_time_last_bn1d_on_sequences_of_vectors():
    # (T, N, C) time-first is (N, C, T) time-last: BatchNorm1d over N and T
    x = torch.randn(T, N, 3, dtype=torch.float64)
    m1, m2 = nn.BatchNorm1d(3).double(), nn.BatchNorm1d(3).double()
    y1 = SeqLayer(m1, "time-first")(x)
    y2 = SeqLayer(m2, "time-last")(to_layout(x, "time-first", "time-last"))
    torch.testing.assert_close(to_layout(y2.contiguous(), "time-last", "time-first"), y1)


def test_wrong_method_is_refused():
    layer = SeqLayer(nn.BatchNorm2d(3), "time-last")
    assert layer.candidate_methods("time-last") == ["reshape"]
    layer.method = "vmap"
    with pytest.raises(ValueError, match="does not apply BatchNorm2d"):
        layer(torch.randn(2, 3, 4, 4, 5))
