"""The reference of the neuron, in two halves.

At the front door, numpy only (importing ``shiftpsn.golden`` never imports torch):

* :func:`run` (:mod:`~shiftpsn.golden.integer`): the bit-exact integer model of a core spec, what the
  hardware must compute (docs/CONTRACT.md section 2);
* :func:`run_network` (:mod:`~shiftpsn.golden.network`): the bit-exact integer model of a whole network
  (docs/CONTRACT.md section 5);
* :mod:`~shiftpsn.golden.export` (imports torch when used): a trained layer -> a core spec and its
  test-set stimulus, the mapping from the float model to the integer one.
* :mod:`~shiftpsn.golden.export_network` (imports torch when used): a whole trained network -> a network
  spec, its test set as network inputs, and its float / quantized / integer accuracy.

The torch side, in subpackages: :mod:`~shiftpsn.golden.model` (the neuron, quantizer, BN threshold,
surrogates, dilations), :mod:`~shiftpsn.golden.accel` (the acceleration methods and autoselect),
:mod:`~shiftpsn.golden.baselines` (the neurons it is compared with) and :mod:`~shiftpsn.golden.train`
(tasks, models, the training loop, the comparison of the papers' claims).
"""

from .integer import run
from .network import run_network

__all__ = ["run", "run_network"]
