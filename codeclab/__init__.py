"""CodecLab: a PyTorch laboratory for image and video coding.

Classic block-based hybrid coding and learned codecs behind one container
(:mod:`codeclab.bitstream`), one codec interface (:mod:`codeclab.codec`), one Python API
(:mod:`codeclab.api`), one command line (``codeclab``) and one evaluation platform
(:mod:`codeclab.eval`).
"""

__version__ = "0.1.0"
