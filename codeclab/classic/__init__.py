"""The classic block-based hybrid codec: the tools shared by its encoder and decoder.

These are the normative reconstruction steps of an HEVC-class codec (HM's TLibCommon),
each a pure function over batches of blocks, in integer arithmetic so that the decoder and
the encoder's own reconstruction agree bit for bit on any machine::

    reference samples ─► intra prediction ───────────────┐
    reference pictures ─► motion compensation ───────────┤
                                                          ▼
    levels ─► dequantize ─► inverse transform ─► residual + prediction ─► clip ─► deblocking
              (quant)       (transform)                                            (deblock)

- :mod:`~codeclab.classic.transform`: integer DCT-II 4..32 and DST-VII 4x4 (H.265 §8.6.4);
- :mod:`~codeclab.classic.quant`: QP, scale tables, dead-zone quantization (§8.6.2, §8.6.3),
  chroma QP mapping and the rate-distortion lambda;
- :mod:`~codeclab.classic.intra`: reference samples, smoothing, planar/DC/angular prediction,
  most probable modes (§8.4);
- :mod:`~codeclab.classic.interp`: fractional sample interpolation, uni/bi-prediction (§8.5.3.3);
- :mod:`~codeclab.classic.deblock`: boundary strength and the deblocking filter (§8.7.2).

The codec ``classic`` built from them (registered by :mod:`~codeclab.classic.codec`):
:mod:`.syntax` (parameters, contexts, syntax elements), :mod:`.partition` (the CTU
quadtree), :mod:`.picture` (the state encoder and decoder share), :mod:`.reconstruct`
and :mod:`.motion` (intra and inter reconstruction in numba, bit-exact with the torch
tools), :mod:`.mvpred` (merge candidates and vector predictors), :mod:`.decoder` (parse +
reconstruct, the normative part), :mod:`.loopfilter` (deblocking of a picture),
:mod:`.analysis`, :mod:`.encoder` (intra RDO), :mod:`.motion_search` and :mod:`.inter`
(motion estimation and P-picture RDO), :mod:`.sequence` (low-delay P groups of pictures,
reference pictures, framing), :mod:`.filters` (the in-loop picture-filter hook),
:mod:`.inspect` (drawing the syntax).
"""

from __future__ import annotations

from codeclab.lazy import lazy_exports

# Each name loads its module on first use (:mod:`codeclab.lazy`).
__getattr__, __dir__ = lazy_exports(__name__, {
    "BETA_TABLE": ".deblock",
    "TC_TABLE": ".deblock",
    "block_edges": ".deblock",
    "boundary_strength": ".deblock",
    "chroma_edge_filter": ".deblock",
    "deblock_chroma": ".deblock",
    "deblock_luma": ".deblock",
    "edge_sides": ".deblock",
    "luma_edge_filter": ".deblock",
    "DC": ".intra",
    "HORIZONTAL": ".intra",
    "NUM_MODES": ".intra",
    "PLANAR": ".intra",
    "VERTICAL": ".intra",
    "chroma_mode": ".intra",
    "chroma_mode_candidates": ".intra",
    "luma_mode_from_syntax": ".intra",
    "luma_mode_to_syntax": ".intra",
    "most_probable_modes": ".intra",
    "neighbouring_samples": ".intra",
    "predict": ".intra",
    "predict_all_modes": ".intra",
    "reference_samples": ".intra",
    "smooth_references": ".intra",
    "smoothing_flag": ".intra",
    "substitute_references": ".intra",
    "LEVEL_SCALES": ".quant",
    "QUANT_SCALES": ".quant",
    "chroma_distortion_weight": ".quant",
    "chroma_qp": ".quant",
    "dequantize": ".quant",
    "quantize": ".quant",
    "rd_lambda": ".quant",
    "DST4_MATRIX": ".transform",
    "forward_transform": ".transform",
    "inverse_transform": ".transform",
    "transform_kind": ".transform",
    "transform_matrix": ".transform",
})

__all__ = [
    "BETA_TABLE",
    "DC",
    "DST4_MATRIX",
    "HORIZONTAL",
    "LEVEL_SCALES",
    "NUM_MODES",
    "PLANAR",
    "QUANT_SCALES",
    "TC_TABLE",
    "VERTICAL",
    "block_edges",
    "boundary_strength",
    "chroma_distortion_weight",
    "chroma_edge_filter",
    "chroma_mode",
    "chroma_mode_candidates",
    "chroma_qp",
    "deblock_chroma",
    "deblock_luma",
    "dequantize",
    "edge_sides",
    "forward_transform",
    "inverse_transform",
    "luma_edge_filter",
    "luma_mode_from_syntax",
    "luma_mode_to_syntax",
    "most_probable_modes",
    "neighbouring_samples",
    "predict",
    "predict_all_modes",
    "quantize",
    "rd_lambda",
    "reference_samples",
    "smooth_references",
    "smoothing_flag",
    "substitute_references",
    "transform_kind",
    "transform_matrix",
]
