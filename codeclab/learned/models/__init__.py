"""Image models of the hyperprior family, one file per architecture (each registers itself).

=================  ==========================================  ===================
registry name      architecture                                paper
=================  ==========================================  ===================
``factorized``     factorized prior                            Ballé 2017 / 2018
``hyperprior``     scale hyperprior                            Ballé 2018
``mean-scale``     mean-scale hyperprior                       Minnen 2018
``checkerboard``   mean-scale + checkerboard context           He et al. 2021
=================  ==========================================  ===================

All are variable-rate through gain units (:mod:`..gain`) and code through
:mod:`codeclab.entropy` with table choices made by integer programs (:mod:`..integer`).
"""

from __future__ import annotations

from .base import SIZE_MULTIPLE, CompressionModel
from .checkerboard import CheckerboardMeanScale
from .factorized import FactorizedPrior
from .hyperprior import ScaleHyperprior
from .meanscale import MeanScaleHyperprior

__all__ = ["SIZE_MULTIPLE", "CompressionModel", "FactorizedPrior", "ScaleHyperprior", "MeanScaleHyperprior",
           "CheckerboardMeanScale"]
