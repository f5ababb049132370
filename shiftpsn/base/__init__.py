"""The base layer: what every other package of shiftpsn imports, and which imports none of them.

``spec`` (CoreSpec: a core's parameters, derived widths, register map), ``ports`` (stream payload
layouts), ``stimulus`` (.npy/.npz files), ``errors`` (exit codes), ``paths`` (output files),
``testing`` (seeded random specs). numpy only.
"""
