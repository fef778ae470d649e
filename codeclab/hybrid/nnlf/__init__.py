"""The neural in-loop filter: an integer CNN after deblocking, switched per CTU by RDO.

Runtime (normative): :mod:`.integer` (the program's layers and arithmetic), :mod:`.int8`
(the same integers on 8-bit convolutions), :mod:`.runtime` (filtering a picture),
:mod:`.weights` (the shipped program), :mod:`.tool` (the picture tool: flags, RDO, side
information). Training: :mod:`.training` (network, pairs, export).
"""
