"""The classic encoder (HM's TLibEncoder): decisions by rate-distortion optimisation.

:mod:`.intra` (intra search), :mod:`.inter` (P-picture decisions), :mod:`.motion_search`
(integer and fractional motion estimation), :mod:`.analysis` (forward transform,
quantisation, SATD), :mod:`.rate_control` (QP and lambda of every picture), :mod:`.syntax`,
:mod:`.residual` and :mod:`.writer` (writing), :mod:`.picture` and :mod:`.sequence`
(pictures and sequences). It may import the decoder, never the reverse.
"""
