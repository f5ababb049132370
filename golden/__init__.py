"""golden: the reference of the neuron. ``golden.integer`` (numpy only) is the bit-exact integer model
of the core; the torch modules (neuron, quantizer, training) live in their own modules so that
importing the integer model never imports torch."""
