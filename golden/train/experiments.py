"""The comparison `make results` runs: which networks, seeds and epochs (MF-PSN Table 3/5/10,
Figure 5 on the digits tasks; a seq-MNIST table). Every neuron gets the same network, optimizer, learning
rate, batch size and epochs of its task (:class:`shiftpsn.golden.train.loop.TrainConfig` defaults, or the
task's recipe in :mod:`~shiftpsn.golden.train.recipes`); nothing is tuned per neuron.
"""

from __future__ import annotations

from dataclasses import dataclass

from .loop import TrainConfig
from .recipes import SEQ_MNIST_ORDER, task_config

SEEDS = (0, 1, 2)
#: Epochs per task (sized so that the whole comparison fits in an hour on 2 CPU cores).
EPOCHS = {"seq-digits": 40, "pixel-digits": 30, "digits-t1": 40, "digits-t2": 40, "seq-mnist": 6}
#: Orders of the accuracy-against-k curves (Figure 5).
ORDERS = (1, 2, 4, 8)
#: The order of the baselines that have one (masked / sliding PSN): 8 = T of seq-digits.
BASELINE_ORDER = 8
BASELINES = ("psn", "masked-psn", "sliding-psn", "lif-soft", "lif-hard", "psu", "ipsu", "rpsu", "window-lif")
#: The few-time-step settings Window-LIF (Yao et al.) is built for: the digits in
#: T = 1 and T = 2 steps (:mod:`shiftpsn.golden.train.tasks`; the same input for both digits tasks).
FEW_STEP_TASKS = ("digits-t1", "digits-t2")
#: Window-LIF, its ablations (normal windows only and one window, Table 4; linear fusion, Figure 5a)
#: and the plain LIF it builds on, at those T.
FEW_STEP_NEURONS = ("window-lif", "window-lif-normal", "window-lif-g1", "window-lif-sum", "lif-soft")
#: seq-MNIST (T = 28 rows): the mul-free neuron against its float-weight twin, the PSN family and the
#: LIF, every one at order SEQ_MNIST_ORDER where it has one (the mul-free one first: it trains first).
SEQ_MNIST_NEURONS = ("mulfree", "cwpsn", "psn", "masked-psn", "sliding-psn", "lif-soft", "lif-hard")


@dataclass(frozen=True)
class Run:
    """One training run of the comparison."""

    task: str
    neuron: str
    order: int
    dilation: str
    seed: int

    @property
    def group(self) -> str:
        """The run without its seed (what means and spreads are taken over)."""
        return f"{self.task}/{self.neuron}/k{self.order}/{self.dilation}"

    @property
    def key(self) -> str:
        return f"{self.task}_{self.neuron}_k{self.order}_{self.dilation}_s{self.seed}"

    def config(self, epochs: dict[str, int] = EPOCHS, subset: int | None = None) -> TrainConfig:
        return task_config(self.task, self.neuron, order=self.order, dilation=self.dilation,
                           epochs=epochs[self.task], seed=self.seed, subset=subset)


def _groups() -> list[tuple[str, str, int, str]]:
    g: list[tuple[str, str, int, str]] = []
    # pixel-digits: accuracy against k with and without sawtooth dilations (Table 10, Figure 5b);
    # with k = 1 the dilation has no effect, so only one run
    for k in ORDERS:
        for dil in (("fixed",) if k == 1 else ("fixed", "sawtooth")):
            g.append(("pixel-digits", "mulfree", k, dil))
    # quantization cost on pixel-digits (same neuron, float weights)
    for k in (2, 4):
        g.append(("pixel-digits", "cwpsn", k, "sawtooth"))
    # seq-digits: accuracy against k for the mul-free neuron and the sliding PSN (Figure 5a, Table 3)
    for k in ORDERS:
        for dil in (("fixed",) if k == 1 else ("fixed", "sawtooth")):
            g.append(("seq-digits", "mulfree", k, dil))
        if k != BASELINE_ORDER:
            g.append(("seq-digits", "sliding-psn", k, "fixed"))
    for dil in ("fixed", "sawtooth"):
        g.append(("seq-digits", "cwpsn", 4, dil))
    # every baseline on both tasks
    for task in ("seq-digits", "pixel-digits"):
        for name in BASELINES:
            g.append((task, name, BASELINE_ORDER, "fixed"))
    # Window-LIF at few time steps
    for task in FEW_STEP_TASKS:
        for name in FEW_STEP_NEURONS:
            g.append((task, name, BASELINE_ORDER, "fixed"))
    for name in SEQ_MNIST_NEURONS:
        g.append(("seq-mnist", name, SEQ_MNIST_ORDER, "fixed"))
    return g


def plan(seeds=SEEDS) -> list[Run]:
    """Every run of the comparison, seeds innermost; the long seq-MNIST and pixel-digits runs first."""
    runs = [Run(task, neuron, k, dil, s) for task, neuron, k, dil in _groups() for s in seeds]
    first = ("seq-mnist", "pixel-digits")
    # stable: keeps the order within a task
    return sorted(runs, key=lambda r: first.index(r.task) if r.task in first else len(first))
