"""The `make results` script on a tiny budget, and the claim arithmetic on made-up numbers."""

import json

import pytest

from shiftpsn.golden.train.experiments import plan
from shiftpsn.golden.train.report import claims
from shiftpsn.golden.train.results import main, summarize


def _record(task, neuron, k, dil, seed, acc):
    return {"run": {"group": f"{task}/{neuron}/k{k}/{dil}", "task": task, "neuron": neuron, "order": k,
                    "dilation": dil, "seed": seed},
            "test_acc": acc, "train_acc": acc, "firing_rate": 0.1, "seconds": 1.0, "finite": True,
            "params": 1}


def test_claims_arithmetic():
    recs = []
    for s, (f, w) in enumerate([(0.50, 0.60), (0.52, 0.64), (0.54, 0.62)]):
        recs += [_record("pixel-digits", "mulfree", 2, "fixed", s, f),
                 _record("pixel-digits", "mulfree", 2, "sawtooth", s, w)]
    recs += [_record("seq-digits", "mulfree", 4, "sawtooth", s, a) for s, a in enumerate([0.90, 0.92, 0.94])]
    recs += [_record("seq-digits", "sliding-psn", 8, "fixed", s, a) for s, a in enumerate([0.93, 0.93, 0.93])]
    recs += [_record("seq-digits", "cwpsn", 4, "sawtooth", s, a) for s, a in enumerate([0.95, 0.95, 0.95])]
    c = claims(summarize(recs))
    saw = c["sawtooth"][0]
    assert saw["k"] == 2 and saw["delta"] == pytest.approx(10.0) and saw["holds"] and saw["clear"]
    assert saw["b_std"] == pytest.approx(2.0)  # sample std of 50, 52, 54
    order = c["order"][0]
    assert order["delta"] == pytest.approx(-1.0) and not order["holds"] and order["within_spread"]
    quant = c["quantization"][0]
    assert quant["task"] == "seq-digits" and quant["cost"] == pytest.approx(3.0) and not quant["holds"]


def test_plan_covers_the_claims():
    groups = {r.group for r in plan()}
    for g in ("pixel-digits/mulfree/k2/fixed", "pixel-digits/mulfree/k2/sawtooth",
              "pixel-digits/mulfree/k4/sawtooth", "seq-digits/mulfree/k4/sawtooth",
              "seq-digits/sliding-psn/k8/fixed", "seq-digits/cwpsn/k4/fixed", "pixel-digits/cwpsn/k4/sawtooth"):
        assert g in groups
    for neuron in ("psn", "masked-psn", "sliding-psn", "lif-soft", "lif-hard", "psu", "ipsu", "rpsu"):
        assert any(f"/{neuron}/" in g for g in groups)
    assert len(plan()) == 3 * len(groups)


def test_results_script_tiny(tmp_path, capsys):
    args = ["--output-dir", str(tmp_path), "--subset", "40", "--epochs-scale", "0.03", "--seeds", "2",
            "--jobs", "1", "--only", "seq-digits/sliding-psn/k8"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "] 2/2 seq-digits/sliding-psn/k8/fixed" in out  # a progress line per finished run
    data = json.loads((tmp_path / "results.json").read_text())
    entry = data["configs"]["seq-digits/sliding-psn/k8/fixed"]
    assert entry["seeds"] == [0, 1] and len(entry["test_acc"]["values"]) == 2
    assert "| sliding-psn | 8 | - |" in (tmp_path / "README.md").read_text()
    assert (tmp_path / "seq_order.png").stat().st_size > 1000
    assert main(args) == 0  # a rerun trains nothing
    assert "2 already done, 0 to train" in capsys.readouterr().out


def test_window_lif_claims_and_tables(tmp_path):
    from shiftpsn.golden.train.report import window_lif_claims, write_report

    def rec(task, neuron, seed, acc, rate):
        r = _record(task, neuron, 8, "fixed", seed, acc)
        r["firing_rate"] = rate
        return r

    recs = []
    for s in range(3):
        recs += [rec("digits-t1", "window-lif", s, 0.90 + 0.01 * s, 0.30),   # mean 91, std 1
                 rec("digits-t1", "lif-soft", s, 0.80, 0.20),
                 rec("digits-t1", "window-lif-normal", s, 0.905, 0.25),
                 rec("digits-t1", "window-lif-sum", s, 0.95, 0.40),
                 rec("seq-digits", "window-lif", s, 0.95, 0.30),
                 rec("seq-digits", "lif-soft", s, 0.96, 0.35)]
    w = window_lif_claims(summarize(recs))
    t1 = next(c for c in w["vs_lif"] if c["steps"] == 1)
    assert t1["delta"] == pytest.approx(11.0) and t1["holds"] and t1["clear"] and t1["rate_raised"]
    t8 = next(c for c in w["vs_lif"] if c["steps"] == 8)
    assert t8["delta"] == pytest.approx(-1.0) and not t8["holds"] and not t8["rate_raised"]
    few = w["few_steps"][0]
    assert few["steps"] == 1 and few["delta"] == pytest.approx(-4.0) and not few["holds"]
    normal, lin = w["ablations"]
    assert normal["neuron"] == "window-lif-normal" and normal["delta"] == pytest.approx(0.5)
    assert normal["holds"] and not normal["clear"]  # 0.5 points < spread 1.0
    assert lin["delta"] == pytest.approx(-4.0) and not lin["holds"]
    write_report(tmp_path, summarize(recs), timing={"wall_seconds": 60, "runs": 18, "jobs": 2},
                 epochs={"digits-t1": 1}, total=18)
    text = (tmp_path / "README.md").read_text()
    assert "| 1 | digits-t1 | 91.00 ± 1.00 | 80.00 ± 0.00 | +11.00 | yes, beyond the seeds' spread |" in text
    assert "| window-lif | - | - | 91.00 ± 1.00 |" in text and "0.300 ± 0.000" in text
    assert json.loads((tmp_path / "results.json").read_text())["claims"]["window_lif"]["vs_lif"]


def test_plan_has_the_seq_mnist_table():
    """mulfree vs cwpsn vs the PSN family vs LIF on seq-MNIST, one recipe for all, mulfree first."""
    from shiftpsn.golden.train.recipes import SEQ_MNIST_ORDER, TASK_RECIPES

    runs = [r for r in plan() if r.task == "seq-mnist"]
    groups = list(dict.fromkeys(r.group for r in runs))
    assert groups[0] == f"seq-mnist/mulfree/k{SEQ_MNIST_ORDER}/fixed" and plan()[0].task == "seq-mnist"
    for neuron in ("mulfree", "cwpsn", "psn", "masked-psn", "sliding-psn", "lif-soft", "lif-hard"):
        assert f"seq-mnist/{neuron}/k{SEQ_MNIST_ORDER}/fixed" in groups
    assert len(runs) == 3 * len(groups)
    width = TASK_RECIPES["seq-mnist"]["model"]["width"]
    assert {(r.config().model.width, r.config().batch_size) for r in runs} == {(width, 128)}
    assert {r.config().model.width for r in plan() if r.task != "seq-mnist"} == {64}  # digits unchanged


def test_the_demo_recipe_is_a_mulfree_seq_mnist_run():
    from shiftpsn.golden.train.recipes import SEQ_MNIST_DEMO, seq_mnist_demo_config

    c = seq_mnist_demo_config(seed=3, epochs=1, test_subset=100)
    assert (c.model.task, c.model.neuron, c.model.quantized) == ("seq-mnist", "mulfree", True)
    assert (c.model.order, c.model.width, c.model.layers) == tuple(SEQ_MNIST_DEMO[k] for k in ("order", "width", "layers"))
    assert (c.epochs, c.seed, c.test_subset, c.batch_size) == (1, 3, 100, SEQ_MNIST_DEMO["batch_size"])
    assert seq_mnist_demo_config().epochs == SEQ_MNIST_DEMO["epochs"]
