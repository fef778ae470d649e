"""Learned codecs: layers, image models, the model registry and shipped weights.

Models are built by name through :mod:`.registry` (``build_model("name", **args)``), the
one door the training loop (:mod:`codeclab.train`) and the command line use. The package:

* :mod:`.layers` -- strided convolutions, transposed convolutions run in polyphase form, GDN/IGDN;
* :mod:`.gain` -- gain units (Cui et al. 2021): one set of weights for a continuous range of rates;
* :mod:`.integer` -- integer programs: the decoder's table choices computed exactly on any machine;
* :mod:`.banded` -- the synthesis transform in row bands: the same picture for any thread count;
* :mod:`.models` -- factorized prior, scale hyperprior, mean-scale hyperprior, checkerboard context;
* :mod:`.weights` -- safetensors weights with JSON model cards (``load_pretrained``/``save_pretrained``);
* :mod:`.codec` -- the models as CodecLab codecs (``factorized``, ``hyperprior``, ``mean-scale``,
  ``checkerboard``, and ``learned``, the flagship).

Every model follows CompressAI's conventions (``forward`` -> ``{"x_hat", "likelihoods"}``,
``update``, ``compress``/``decompress``), with ``variable_rate = True``: each call takes the
rate-distortion trade-off ``lmbda`` it should code at.
"""

from __future__ import annotations

from codeclab.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "build_model": ".registry", "load_model_module": ".registry", "model_names": ".registry",
    "register_model": ".registry", "load_pretrained": ".weights", "save_pretrained": ".weights"})

__all__ = ["build_model", "load_model_module", "model_names", "register_model", "load_pretrained", "save_pretrained"]
