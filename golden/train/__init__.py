"""Training on real data (``sklearn`` digits, no download) and the bridge from a trained network to
the hardware core.

========================  =====================================================================
module                    job
========================  =====================================================================
``tasks``                 seq-digits (T = 8 rows) and pixel-digits (T = 64 pixels), fixed split
``models``                ``{Linear -> BN -> neuron} x L -> Linear`` averaged over time
``loop``                  AdamW + cosine schedule, tqdm progress, results JSON
``checkpoints``           torch.save of state + config; rebuild a model from a checkpoint
``layer_io``              export a trained mul-free layer (:func:`export_layer`): core spec, the
                          test set's input currents quantized to the core's integer grid, and the
                          quantized float layer's spikes on them
``experiments``           the comparison ``make results`` runs
``results``, ``report``   ``python -m golden.train.results``: tables, claims, plots into results/
========================  =====================================================================

Command lines: ``shiftpsn train`` (:mod:`golden.cmd_train`), ``shiftpsn export`` (:mod:`golden.cmd_export`).
"""
