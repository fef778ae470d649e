"""Rate control of the classic encoder: each picture's QP, and the lambda its RDO trades with.

Every decision of the encoder minimises ``J = D + lambda R`` (D a sum of squared errors, R
in bits); this module is the one place where a QP becomes a lambda::

    picture        QP                                   lambda
    intra          QP                                   0.57  * 2^((QP - 12) / 3)   (HM)
    P, low delay   QP + GOP_QP_OFFSETS[poc % GOP_SIZE]  0.578 * 2^((QP - 12) / 3)
    chroma SSE     weighted by 2^((QP_Y - QP_C) / 3) against luma (HM)

The QP cascade spends bits where they are reused most: a key picture serves as reference
for the next four or more. All of it is encoder-side: a decoder reads each picture's QP and
never needs a lambda, so floats are fine here.
"""

from __future__ import annotations

#: Key pictures every GOP_SIZE pictures (the encoder's choice, sent in the parameters).
GOP_SIZE = 4
#: QP offsets by position in the group (0 = key picture), HM 16's low-delay P table.
GOP_QP_OFFSETS = (1, 5, 4, 5)
#: Lambda factor of P pictures: lambda = factor * 2^((QP - 12) / 3).
P_LAMBDA_FACTOR = 0.578


def picture_qp(poc: int, qp: int, intra_period: int) -> int:
    """QP of picture ``poc``: the sequence QP for intra pictures, plus the offset of its
    place in the group (:data:`GOP_QP_OFFSETS`) for P pictures."""
    position = poc % intra_period
    return qp if position == 0 else min(qp + GOP_QP_OFFSETS[position % GOP_SIZE], 51)


def picture_lambda(qp: int) -> float:
    """Lagrange multiplier of a P picture coded at ``qp``: ``0.578 * 2^((QP - 12) / 3)``."""
    return P_LAMBDA_FACTOR * 2.0 ** ((qp - 12) / 3.0)


def rd_lambda(qp: float) -> float:
    """HM's Lagrange multiplier for intra decisions: ``lambda = 0.57 * 2^((QP - 12) / 3)``.

    Minimising ``D + lambda * R`` (D as a sum of squared errors, R in bits) trades rate for
    distortion at the slope the QP implies. Encoder-side only, so a float is fine.
    """
    return 0.57 * 2.0 ** ((qp - 12) / 3.0)


def chroma_distortion_weight(qp_luma: int, qp_chroma: int) -> float:
    """HM's weight of chroma SSE against luma SSE: ``2^((QpY - QpC) / 3)``.

    The coarser chroma step at high QP (:func:`~codeclab.classic.common.reference.quant.chroma_qp`) would otherwise make chroma errors
    look cheap next to the lambda chosen for luma.
    """
    return 2.0 ** ((qp_luma - qp_chroma) / 3.0)
