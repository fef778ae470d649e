"""Network intra prediction (NIP): integer MLP modes beside the 35 HEVC intra modes.

Runtime: the kernel is classic's own (:mod:`codeclab.classic.common.nnintra`); :mod:`.program`
loads and checks the shipped program. Training: :mod:`.training` (the network, its block
dataset and the export).
"""
