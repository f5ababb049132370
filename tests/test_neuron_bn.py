"""The batch-norm threshold (papers/000 Appendix C, Eq. 26-28) against an unfused computation:
``Theta(BN(conv(X, W)))`` with ``torch.nn.functional.batch_norm`` (an independent implementation of
Eq. 26 and of the running statistics)."""

import pytest
import torch
import torch.nn.functional as F

import shiftpsn.golden.model.neuron as neuron_mod
from shiftpsn.golden.accel import temporal_conv
from shiftpsn.golden.model.neuron import MulFreePSN
from shiftpsn.golden.model.quant import pow2_round

C, K, D = 5, 3, 2


def unfused(layer: MulFreePSN, x: torch.Tensor, running_mean, running_var, training: bool):
    """BN(conv(X, W)) of Eq. 26 with F.batch_norm; time-first x (T, N, C, ...), channel axis 2."""
    h = temporal_conv(x, layer.weight, layer.dilation)
    bn = layer.threshold
    y = F.batch_norm(h.movedim(2, 1), running_mean, running_var, bn.weight, bn.bias, training=training,
                     momentum=bn.momentum, eps=bn.eps)
    return y.movedim(1, 2)


def make(seed, quantize=False):
    torch.manual_seed(seed)
    layer = MulFreePSN(C, K, D, quantize=quantize, threshold="bn", exp_init=False)
    with torch.no_grad():
        layer.threshold.weight.uniform_(0.5, 2.0)   # move gamma, beta off their init
        layer.threshold.bias.uniform_(-1.5, 0.5)
    x = torch.randn(11, 4, C, 3) * 2 + 0.5
    return layer, x


def test_init_gamma_one_beta_minus_one():
    bn = MulFreePSN(3, 2).threshold
    assert bn.weight.tolist() == [1.0] * 3 and bn.bias.tolist() == [-1.0] * 3
    assert bn.running_mean.tolist() == [0.0] * 3 and bn.running_var.tolist() == [1.0] * 3


def test_train_mode_uses_batch_stats_and_updates_running_stats():
    layer, x = make(0)
    rm, rv = torch.zeros(C), torch.ones(C)
    for step in range(3):
        xs = x * (step + 1) + step
        v = layer.charge(xs)
        ref = unfused(layer, xs, rm, rv, training=True)  # updates rm, rv like nn.BatchNorm
        torch.testing.assert_close(v, ref, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(layer.threshold.running_mean, rm, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(layer.threshold.running_var, rv, rtol=1e-6, atol=1e-6)
    assert int(layer.threshold.num_batches_tracked) == 3
    # spikes: Theta(H + b_f) equals Theta(BN(H)) wherever rounding cannot decide
    clear = ref.abs() > 1e-4
    assert torch.equal(layer.surrogate(v)[clear], (ref >= 0).float()[clear])


def test_eval_mode_uses_running_stats_and_leaves_them():
    layer, x = make(1)
    layer(x * 3 - 1)  # one training batch moves the running statistics
    layer.eval()
    rm, rv = layer.threshold.running_mean.clone(), layer.threshold.running_var.clone()
    v = layer.charge(x)
    ref = unfused(layer, x, rm.clone(), rv.clone(), training=False)
    torch.testing.assert_close(v, ref, rtol=1e-5, atol=1e-5)
    assert torch.equal(layer.threshold.running_mean, rm) and torch.equal(layer.threshold.running_var, rv)
    # Vth = -b_f with b_f = beta - gamma mu / sqrt(var + eps) (Eq. 28)
    bn = layer.threshold
    _, b_f = layer.fused_parameters()
    torch.testing.assert_close(-b_f, -(bn.bias - bn.weight * rm / torch.sqrt(rv + bn.eps)))


def test_fused_gradients_equal_unfused_batch_norm_gradients():
    """Without quantization the fusion (Eq. 27-28) is an identity, also for the gradients."""
    layer, x = make(2)
    x = x.requires_grad_(True)
    up = torch.randn(x.shape)
    params = [x, layer.weight, layer.threshold.weight, layer.threshold.bias]
    g_fused = torch.autograd.grad((layer.charge(x) * up).sum(), params)
    ref = unfused(layer, x, torch.zeros(C), torch.ones(C), training=True)
    g_ref = torch.autograd.grad((ref * up).sum(), params)
    for name, a, b in zip(["x", "W", "gamma", "beta"], g_fused, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=lambda m: f"d/d{name}: {m}")


def test_quantized_training_convolves_with_q_of_fused_weight():
    """Appendix C: batch stats from conv(X, W), then conv(X, Q(W_f)) + b_f."""
    layer, x = make(3, quantize=True)
    v = layer.charge(x)
    bn = layer.threshold
    h = temporal_conv(x, layer.weight, D).detach()
    var, mean = torch.var_mean(h.movedim(2, 0).reshape(C, -1), dim=1, correction=0)
    scale = bn.weight / torch.sqrt(var + bn.eps)
    w_f = scale[:, None] * layer.weight
    b_f = bn.bias - scale * mean
    expected = temporal_conv(x, pow2_round(w_f.detach(), -8, 7), D) + b_f[:, None]
    torch.testing.assert_close(v, expected.detach(), rtol=1e-5, atol=1e-5)
    # the STE (Eq. 16): gradient reaches W, gamma, beta
    v.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in (layer.weight, bn.weight, bn.bias))


@pytest.mark.parametrize("threshold,training,calls", [("bn", True, 2), ("bn", False, 1),
                                                      ("bias", True, 1), ("bias", False, 1)])
def test_convolution_runs_twice_in_bn_training_once_otherwise(monkeypatch, threshold, training, calls):
    seen = []

    def counting(*args, **kw):
        seen.append(1)
        return temporal_conv(*args, **kw)

    monkeypatch.setattr(neuron_mod, "temporal_conv", counting)
    layer = MulFreePSN(C, K, D, threshold=threshold).train(training)
    layer(torch.randn(6, 2, C))
    assert len(seen) == calls


def test_single_value_per_channel_is_rejected_in_training():
    layer = MulFreePSN(C, K, D)
    with pytest.raises(ValueError, match="more than 1 value"):
        layer(torch.randn(1, 1, C))
