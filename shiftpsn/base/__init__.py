"""The base layer: what every other package of shiftpsn imports, and which imports none of them.

``layers`` (the layer protocol and its registry: one class per layer type), ``spec`` (CoreSpec, the psn
layer: a core's parameters, derived widths), ``regmap`` (its register map), ``network`` (NetworkSpec: a
list of layers, exact ranges, cycles), ``description`` (the design description beside Verilog, and its
reader), ``payload`` (the one payload schema; packing and unpacking beats), ``ports`` (a core's ports),
``stimulus`` (.npy/.npz files), ``errors`` (exit codes), ``paths`` (output files), ``limits`` (bounded
reads), ``testing`` (seeded random specs and networks). numpy only.
"""
