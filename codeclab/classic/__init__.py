"""The classic block-based hybrid codec, laid out as HM and VTM are: common, decoder, encoder.

::

    classic/
      common/       what encoder and decoder share: the normative part (HM's TLibCommon)
        reference/  the standard's tools written plainly in torch, one per file, with their
                    tables: transform, quant, intra, interp, deblock (H.265 §8.4-8.7)
        reconstruct, motion, deblocking   the numba kernels that *run*: intra prediction,
                    dequantisation, inverse transform, motion compensation, deblocking;
                    bit-exact with the reference (tests/classic compare them)
        partition, picture, mvpred, syntax, residual, parameters, tools, nnintra, pictures
                    the quadtree, the picture state, MV prediction, syntax elements and
                    their contexts, residual coding, parameter sets, the picture-tool hook,
                    the network intra kernel, RGB <-> planes
      decoder/      parse + reconstruct a picture or a sequence (imports common only)
      encoder/      intra and inter RDO, motion search, rate control (QP -> lambda),
                    the sequence coder (imports common and decoder)
      codec.py      ``classic`` behind the Codec interface; drawing.py: syntax drawn

The reference tools below are re-exported for reading and teaching; the codec itself runs
the kernels. Each name loads its module on first use (:mod:`codeclab.lazy`).
"""

from __future__ import annotations

from codeclab.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "BETA_TABLE": ".common.reference.deblock",
    "TC_TABLE": ".common.reference.deblock",
    "block_edges": ".common.reference.deblock",
    "boundary_strength": ".common.reference.deblock",
    "chroma_edge_filter": ".common.reference.deblock",
    "deblock_chroma": ".common.reference.deblock",
    "deblock_luma": ".common.reference.deblock",
    "edge_sides": ".common.reference.deblock",
    "luma_edge_filter": ".common.reference.deblock",
    "bi_pred": ".common.reference.interp",
    "chroma_prediction": ".common.reference.interp",
    "luma_prediction": ".common.reference.interp",
    "uni_pred": ".common.reference.interp",
    "DC": ".common.reference.intra",
    "HORIZONTAL": ".common.reference.intra",
    "NUM_MODES": ".common.reference.intra",
    "PLANAR": ".common.reference.intra",
    "VERTICAL": ".common.reference.intra",
    "chroma_mode": ".common.reference.intra_modes",
    "chroma_mode_candidates": ".common.reference.intra_modes",
    "luma_mode_from_syntax": ".common.reference.intra_modes",
    "luma_mode_to_syntax": ".common.reference.intra_modes",
    "most_probable_modes": ".common.reference.intra_modes",
    "neighbouring_samples": ".common.reference.intra",
    "predict": ".common.reference.intra",
    "predict_all_modes": ".common.reference.intra",
    "reference_samples": ".common.reference.intra",
    "smooth_references": ".common.reference.intra",
    "smoothing_flag": ".common.reference.intra",
    "substitute_references": ".common.reference.intra",
    "LEVEL_SCALES": ".common.reference.quant",
    "QUANT_SCALES": ".common.reference.quant",
    "chroma_distortion_weight": ".encoder.rate_control",
    "chroma_qp": ".common.reference.quant",
    "dequantize": ".common.reference.quant",
    "quantize": ".common.reference.quant",
    "rd_lambda": ".encoder.rate_control",
    "DST4_MATRIX": ".common.reference.transform",
    "forward_transform": ".common.reference.transform",
    "inverse_transform": ".common.reference.transform",
    "transform_kind": ".common.reference.transform",
    "transform_matrix": ".common.reference.transform",
    "decode_residuals": ".decoder.residual",
    "encode_residuals": ".encoder.residual",
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
    "bi_pred",
    "block_edges",
    "boundary_strength",
    "chroma_distortion_weight",
    "chroma_edge_filter",
    "chroma_prediction",
    "chroma_mode",
    "chroma_mode_candidates",
    "chroma_qp",
    "deblock_chroma",
    "deblock_luma",
    "decode_residuals",
    "dequantize",
    "edge_sides",
    "encode_residuals",
    "forward_transform",
    "inverse_transform",
    "luma_edge_filter",
    "luma_mode_from_syntax",
    "luma_mode_to_syntax",
    "luma_prediction",
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
    "uni_pred",
]
