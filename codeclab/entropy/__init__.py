"""Entropy coding: the last, lossless stage of every codec in CodecLab.

Two families share this package:

* **classic** -- context-adaptive binary arithmetic coding as in H.266/VVC:
  :mod:`.cabac` (the engine: regular, bypass and terminate bins with VVC's two-rate
  probability estimator), :mod:`.binarization` (unary, truncated unary, fixed length,
  truncated Rice, Exp-Golomb-k), :mod:`.rate` (fractional-bit estimates for RDO). All numba-compiled
  functions on small NumPy arrays, callable from the codec's own numba code; the residual
  coding of HEVC that uses them is the classic codec's (:mod:`codeclab.classic.common.residual`).
* **learned** -- entropy models with exact integer CDF tables: :mod:`.quantization`
  (noise / straight-through / rounding), :mod:`.factorized` (Ballé's factorized prior),
  :mod:`.conditional` (Gaussian, Laplace and logistic with predicted scale and mean),
  :mod:`.tables` (scale grid and integer-only table construction, :mod:`.fixed_point`) and
  :mod:`.stream` (ANS and range coding through ``constriction`` with an escape path).
"""

from __future__ import annotations

from codeclab.lazy import lazy_exports

# Each name loads its module on first use (:mod:`codeclab.lazy`).
__getattr__, __dir__ = lazy_exports(__name__, {
    "BinaryDecoder": ".bin_coder",
    "BinaryEncoder": ".bin_coder",
    "contexts_at": ".cabac",
    "decode_bin": ".cabac",
    "decode_bypass": ".cabac",
    "decode_terminate": ".cabac",
    "decoder_finish": ".cabac",
    "decoder_start": ".cabac",
    "encode_bin": ".cabac",
    "encode_bypass": ".cabac",
    "encode_terminate": ".cabac",
    "encoder_finish": ".cabac",
    "encoder_start": ".cabac",
    "init_contexts": ".cabac",
    "reserve": ".cabac",
    "ConditionalEntropyModel": ".conditional",
    "GaussianConditional": ".conditional",
    "LaplaceConditional": ".conditional",
    "LogisticConditional": ".conditional",
    "bin_likelihood": ".conditional",
    "quantize_means": ".conditional",
    "EntropyBottleneck": ".factorized",
    "quantize": ".quantization",
    "bin_cost": ".rate",
    "ideal_adaptive_bits": ".rate",
    "RangeSymbolDecoder": ".stream",
    "RangeSymbolEncoder": ".stream",
    "decode_symbols": ".stream",
    "encode_symbols": ".stream",
    "CdfTables": ".tables",
    "ScaleGrid": ".tables",
    "parametric_tables": ".tables",
    "quantize_pmf": ".tables",
})

__all__ = [
    "BinaryDecoder", "BinaryEncoder", "contexts_at", "decode_bin", "decode_bypass",
    "decode_terminate", "decoder_finish", "decoder_start", "encode_bin", "encode_bypass",
    "encode_terminate", "encoder_finish", "encoder_start", "init_contexts", "reserve",
    "ConditionalEntropyModel", "GaussianConditional", "LaplaceConditional",
    "LogisticConditional", "bin_likelihood", "quantize_means", "EntropyBottleneck", "quantize",
    "bin_cost", "ideal_adaptive_bits", "RangeSymbolDecoder", "RangeSymbolEncoder",
    "decode_symbols", "encode_symbols", "CdfTables", "ScaleGrid", "parametric_tables",
    "quantize_pmf",
]
