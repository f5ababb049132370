"""The torch model of the mul-free channel-wise PSN: the neuron (``neuron``), the power-of-two
quantizer with its straight-through estimator (``quant``), BatchNorm as threshold (``threshold``),
surrogate gradients (``surrogate``), sawtooth dilations (``dilation``) and time-last layers
(``layers``)."""
