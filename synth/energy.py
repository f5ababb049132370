"""Energy per neuron-time-step: the op-count model of MF-PSN and the activity-based figure.

Op-count model (MF-PSN Table 1 operation counts, Table 9 energies). For one neuron over T time
steps with order k (k <= T), only the taps whose input exists (t - j >= 0) cost an operation::

    n_taps(T, k) = (T + (1 - k) / 2) * k                     (= sum_t min(t + 1, k))
    PSN          : (T^2 + T) ADD + T^2 MUL                   -> 4.6 T^2 + 0.9 T pJ   (Table 9)
    sliding PSN  : (n_taps + T) ADD + n_taps MUL
    ours         : (n_taps + T) ADD + n_taps SHIFT           -> 1.03 n_taps + 0.9 T pJ (Table 9)

with the 45 nm per-operation energies of the paper (section 5.5, after Horowitz ISSCC 2014): ADD =
FP32 add 0.9 pJ, MUL = FP32 mult 3.7 pJ, SHIFT = FIX32 shift 0.13 pJ. Divided by T it is the energy
per neuron-time-step. The T extra ADDs are the threshold comparisons (one per step). The paper's
counts do not depend on the dilation d. A second set of energies, Horowitz' INT8 figures (add 0.03 pJ,
mult 0.2 pJ, shift 0.024 pJ from MF-PSN section 1), gives the same counts at 8-bit precision.
The ``shift`` core is "ours"; its ``mac`` baseline computes the same taps with multipliers, i.e. the
sliding-PSN count with channel-wise weights.

Activity-based: the power OpenSTA computes for the standard-cell netlist at the clock, with the
stimulus' input toggles (:mod:`shiftpsn.synth.activity`), divided by the rate of neuron-time-steps: one beat
of C channels per cycle, so ``E = P / f_clk / C``.
"""

from __future__ import annotations

from shiftpsn.base.errors import UsageError

#: Per-operation energies in pJ, 45 nm (MF-PSN section 5.5 / Table 9, and section 1 for INT8).
OP_ENERGY_PJ = {
    "paper": {"add": 0.9, "mul": 3.7, "shift": 0.13},   # FP32 add / FP32 mult / FIX32 shift
    "int8": {"add": 0.03, "mul": 0.2, "shift": 0.024},  # INT8 add / INT8 mult / INT8 shift
}


def n_taps(T: int, k: int) -> float:
    """Tap operations of one neuron over T steps with order k: (T + (1-k)/2) * k (MF-PSN Table 1)."""
    if not 1 <= k <= T:
        raise UsageError(f"energy model needs 1 <= order k <= time steps T, got k={k}, T={T}")
    return (T + (1 - k) / 2) * k


def op_counts(neuron: str, T: int, k: int) -> dict[str, float]:
    """Operations of one neuron over T steps (MF-PSN Table 1): {'add', 'mul', 'shift'}."""
    if neuron == "psn":
        return {"add": T * T + T, "mul": T * T, "shift": 0}
    taps = n_taps(T, k)
    if neuron == "sliding_psn":
        return {"add": taps + T, "mul": taps, "shift": 0}
    if neuron == "ours":
        return {"add": taps + T, "mul": 0, "shift": taps}
    raise ValueError(f"unknown neuron {neuron!r}")


def energy_pj(neuron: str, T: int, k: int, energies: str = "paper") -> float:
    """Energy of one neuron over T steps in pJ (MF-PSN Table 9 with the given op energies)."""
    e = OP_ENERGY_PJ[energies]
    return sum(n * e[op] for op, n in op_counts(neuron, T, k).items())


def model(arith: str, T: int, k: int) -> dict:
    """The op-count model for a core of arithmetic ``arith`` ("shift" or "mac").

    Returns
    -------
    dict
        ``pj_per_step`` (this core, paper energies, per neuron-time-step), ``T``, ``k``, ``neuron``
        (the Table 1 row it is), and ``table``: PSN, sliding PSN and ours, each with op counts and
        pJ per neuron over T steps and per neuron-time-step, for both energy sets.
    """
    table = {}
    for neuron in ("psn", "sliding_psn", "ours"):
        row = {"ops": op_counts(neuron, T, k)}
        for name in OP_ENERGY_PJ:
            e = energy_pj(neuron, T, k, name)
            row[f"pj_{name}"] = e
            row[f"pj_per_step_{name}"] = e / T
        table[neuron] = row
    neuron = "ours" if arith == "shift" else "sliding_psn"
    return {"neuron": neuron, "T": T, "k": k, "pj_per_step": table[neuron]["pj_per_step_paper"],
            "pj_per_step_int8": table[neuron]["pj_per_step_int8"], "table": table}


def activity_pj_per_step(power_w: float, clock_mhz: float, channels: int) -> float:
    """P / f / C in pJ: energy per neuron-time-step at one beat (C neurons; for any core ``lanes``
    neurons, the number to pass as ``channels``) per clock cycle."""
    return power_w / (clock_mhz * 1e6) / channels * 1e12


def synops_per_step(net) -> dict:
    """Synaptic operations of one time step of a network (docs/CONTRACT.md, energy): one tap term of
    one neuron (``order`` per neuron-time-step) and one dense-layer term ``w[o][i] * x[i]`` (I*O per
    dense layer per step), each layer's ``synops_per_step`` (the layer protocol). Returns ``psn`` (the
    neuron layers'), ``dense`` (the synapse layers'), ``total`` and ``neurons`` (neurons per step)."""
    neuron = [layer for layer in net.layers if layer.role == "neuron"]
    psn = sum(layer.synops_per_step() for layer in neuron)
    dense = sum(layer.synops_per_step() for layer in net.layers if layer.role == "synapse")
    neurons = sum(layer.out_features for layer in neuron)
    return {"psn": psn, "dense": dense, "total": psn + dense, "neurons": neurons}


def network_model(net, arith: str, T: int) -> dict:
    """The op-count model of a network over T steps (paper energies, :data:`OP_ENERGY_PJ`): each neuron
    layer as :func:`model` (``ours`` for shift, ``sliding_psn`` for mac) with k = min(order, T); each
    dense term of the first layer (multi-bit inputs) one MUL + ADD in the mac network, one SHIFT + ADD in
    the shift network (its bit-serial first layer); each term of the later dense layers (0/1 spike
    inputs) one ADD in both. Returns pJ per PSN neuron-time-step, per synaptic op
    (:func:`synops_per_step`), per sample (T steps) and the parts per time step. Layers are told apart
    by their role (the layer protocol): a neuron layer's taps per neuron are its synaptic ops per neuron;
    a synapse layer with integer inputs (``NetworkSpec.layer_input_width``) multiplies or shifts."""
    e = OP_ENERGY_PJ["paper"]
    psn = 0.0
    dense = 0.0
    for L, layer in enumerate(net.layers):
        if layer.role == "synapse":
            multi_bit = net.layer_input_width(L) is not None
            per = (e["mul"] if arith == "mac" else e["shift"]) + e["add"] if multi_bit else e["add"]
            dense += layer.synops_per_step() * per
        else:
            taps = layer.synops_per_step() // layer.out_features
            psn += model(arith, T, min(taps, T))["pj_per_step"] * layer.out_features
    ops = synops_per_step(net)
    step = psn + dense
    return {"pj_per_step": step / ops["neurons"], "pj_per_synop": step / ops["total"], "pj_per_sample": step * T,
            "pj_per_time_step": {"psn_layers": psn, "dense_layers": dense}, "T": T, "synops_per_step": ops,
            "method": "op-count model per time step: neuron layers as MF-PSN Table 1/9 (ours / sliding PSN); "
                      "first dense layer SHIFT+ADD (shift) or MUL+ADD (mac) per term; later dense layers ADD "
                      "per term (spike inputs); 45 nm op energies (synth/energy.py network_model)"}
