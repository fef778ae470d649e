"""Entropy coding: the last, lossless stage of every codec in CodecLab.

Two families share this package:

* **classic** -- context-adaptive binary arithmetic coding as in H.266/VVC:
  :mod:`.cabac` (the engine: regular, bypass and terminate bins with VVC's two-rate
  probability estimator), :mod:`.binarization` (unary, truncated unary, fixed length,
  truncated Rice, Exp-Golomb-k), :mod:`.rate` (fractional-bit estimates for RDO) and
  :mod:`.residual` (HEVC-style coding of quantized transform blocks). All numba-compiled
  functions on small NumPy arrays, callable from the codec's own numba code.
* **learned** -- entropy models with exact integer CDF tables: :mod:`.quantization`
  (noise / straight-through / rounding), :mod:`.factorized` (Ballé's factorized prior),
  :mod:`.conditional` (Gaussian, Laplace and logistic with predicted scale and mean),
  :mod:`.tables` (scale grid and integer-only table construction, :mod:`.fixed_point`) and
  :mod:`.stream` (ANS and range coding through ``constriction`` with an escape path).
"""

from __future__ import annotations

from .cabac import (BinaryDecoder, BinaryEncoder, contexts_at, decode_bin, decode_bypass,
                    decode_terminate, decoder_finish, decoder_start, encode_bin, encode_bypass,
                    encode_terminate, encoder_finish, encoder_start, init_contexts, reserve)
from .conditional import (ConditionalEntropyModel, GaussianConditional, LaplaceConditional,
                          LogisticConditional, bin_likelihood, quantize_means)
from .factorized import EntropyBottleneck
from .quantization import quantize
from .rate import bin_cost, ideal_adaptive_bits
from .residual import decode_block, decode_residuals, encode_block, encode_residuals
from .stream import RangeSymbolDecoder, RangeSymbolEncoder, decode_symbols, encode_symbols
from .tables import CdfTables, ScaleGrid, parametric_tables, quantize_pmf

__all__ = [
    "BinaryDecoder", "BinaryEncoder", "contexts_at", "decode_bin", "decode_bypass",
    "decode_terminate", "decoder_finish", "decoder_start", "encode_bin", "encode_bypass",
    "encode_terminate", "encoder_finish", "encoder_start", "init_contexts", "reserve",
    "ConditionalEntropyModel", "GaussianConditional", "LaplaceConditional",
    "LogisticConditional", "bin_likelihood", "quantize_means", "EntropyBottleneck", "quantize",
    "bin_cost", "ideal_adaptive_bits", "decode_block", "decode_residuals", "encode_block",
    "encode_residuals", "RangeSymbolDecoder", "RangeSymbolEncoder",
    "decode_symbols", "encode_symbols", "CdfTables", "ScaleGrid", "parametric_tables",
    "quantize_pmf",
]
