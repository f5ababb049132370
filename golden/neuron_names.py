"""The names of the neurons ``shiftpsn train --neuron`` accepts, without importing torch (the command
line lists them in its help). :data:`shiftpsn.golden.baselines.NEURONS` maps each to its builder and is
checked against this tuple when it is imported."""

NEURON_NAMES = ("mulfree", "cwpsn", "psn", "masked-psn", "sliding-psn", "lif-soft", "lif-hard", "psu", "ipsu",
                "rpsu", "window-lif", "window-lif-normal", "window-lif-sum", "window-lif-g1")
