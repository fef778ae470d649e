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

from codeclab.learned.models.base import SIZE_MULTIPLE, CompressionModel
from codeclab.learned.models.checkerboard import CheckerboardMeanScale
from codeclab.learned.models.factorized import FactorizedPrior
from codeclab.learned.models.hyperprior import ScaleHyperprior
from codeclab.learned.models.meanscale import MeanScaleHyperprior

__all__ = ["SIZE_MULTIPLE", "CompressionModel", "FactorizedPrior", "ScaleHyperprior", "MeanScaleHyperprior",
           "CheckerboardMeanScale"]
