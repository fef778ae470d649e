"""Rate estimates for rate-distortion optimisation: bits a bin would cost, from its context.

An encoder choosing between modes needs R in J = D + lambda * R long before it codes
anything. With an adaptive binary model the cost of a bin is its self-information under
the context's current probability,

    R(bin) = -log2 P(bin),    P(1) = p / 2^15,  P(0) = 1 - p / 2^15,

with ``p`` the 15-bit estimate of :mod:`.cabac`. Like HM/VTM (``m_binFracBits``), the
cost is read from a table in fixed point: :data:`FRAC_BITS` holds -log2 of the centre of
each of 256 probability cells in units of 1/32768 bit (Q15), so costs add as integers
and a bypass bin costs exactly :data:`ONE_BIT`.

:func:`ideal_adaptive_bits` gives the exact figure the table approximates (float), used
to judge the arithmetic coder: its output should be within a fraction of a percent of it.
"""

from __future__ import annotations

import math

import numpy as np

from codeclab.entropy.cabac import C_P0, C_P1, update_context
from codeclab.kernels import kernel

#: One bit in the fixed-point unit of the estimates (Q15).
ONE_BIT = 1 << 15

#: ``FRAC_BITS[i] = round(-log2((i + 0.5) / 256) * 2^15)``: cost of a bin whose probability
#: lies in cell ``i`` of 256 equal cells (index ``P15 >> 7``).
FRAC_BITS = np.array([round(-math.log2((i + 0.5) / 256) * ONE_BIT) for i in range(256)],
                     dtype=np.int64)


@kernel
def bin_cost(ctx, c, bin):
    """Estimated cost (Q15 bits) of coding ``bin`` with context ``c``, from its state."""
    p_one = 16 * np.int64(ctx[c, C_P0]) + np.int64(ctx[c, C_P1])
    p_bin = p_one if bin else 32768 - p_one
    return FRAC_BITS[min(p_bin >> 7, 255)]


@kernel
def flag_costs(ctx, c):
    """(cost of 0, cost of 1) in Q15 bits for context ``c``: what RDO compares."""
    return bin_cost(ctx, c, 0), bin_cost(ctx, c, 1)


@kernel
def ideal_adaptive_bits(ctx, ctx_ids, bins):
    """Exact adaptive cost in bits of a bin stream: sum of -log2 P(bin) with the model's
    probability at each step (``ctx_id < 0``: a bypass or terminate bin, 1 bit).

    ``ctx`` is updated as the coder would update it; pass a fresh copy.
    """
    total = 0.0
    for i in range(bins.shape[0]):
        c = ctx_ids[i]
        if c < 0:
            total += 1.0
            continue
        p_one = (16 * np.int64(ctx[c, C_P0]) + np.int64(ctx[c, C_P1])) / 32768.0
        total -= math.log2(p_one if bins[i] else 1.0 - p_one)
        update_context(ctx, c, bins[i])
    return total
