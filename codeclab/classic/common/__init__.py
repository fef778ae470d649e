"""What the classic encoder and decoder share: the normative tools (HM's TLibCommon).

Which implementation runs: the numba kernels of this package -- :mod:`.reconstruct` (intra
prediction, dequantisation, inverse transform, block reconstruction), :mod:`.motion`
(motion compensation), :mod:`.deblocking` (the deblocking of a picture) and
:mod:`.nnintra` (network intra modes). Their twins in :mod:`.reference` are the standard
written plainly in torch; they hold the tables the kernels use and are what the tests
compare the kernels with, bit for bit.

The syntax side: :mod:`.parameters` (parameter sets), :mod:`.syntax` (contexts and
binarisations of the syntax elements), :mod:`.residual` (scans and contexts of residual
coding), :mod:`.partition` (the CTU quadtree), :mod:`.picture` (the state coder and decoder
keep), :mod:`.mvpred` (merge and AMVP candidates), :mod:`.sequence` (reference lists and
framing), :mod:`.tools` (the picture-tool hook) and :mod:`.rgb` (the colour path).
"""
