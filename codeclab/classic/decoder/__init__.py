"""The classic decoder (HM's TLibDecoder): parse and reconstruct pictures and sequences.

:mod:`.picture` (CTUs of one picture), :mod:`.sequence` (picture records through the
reference buffer), :mod:`.syntax` and :mod:`.residual` (parsing). It imports only
:mod:`codeclab.classic.common`, the entropy engines, the container and I/O -- never the
encoder (``tests/test_architecture.py`` holds it to that).
"""
