"""Counter-based randomness: every random draw of training is a function of where it happens.

Instead of one random generator whose state runs on through the whole run (and must be
saved, restored, and kept in step across data-loader workers and processes), each random
draw takes a fresh generator seeded from a *key*::

    seed(run seed, stream, counter...)  ->  64-bit seed  ->  torch.Generator

with ``stream`` naming what the randomness is for (the crop of sample k, the quantization
noise of step s on rank r, ...). The same key always gives the same numbers, whichever
process or worker draws them and whenever it does, so:

* ``--resume`` continues the exact random sequence from the step number alone;
* the crops do not depend on the number of data-loader workers;
* each rank of a distributed run draws its own numbers (the rank is part of the key).

This is the design of counter-based generators (Salmon et al., "Parallel random numbers:
as easy as 1, 2, 3", SC 2011) and of JAX's ``fold_in``. The key is hashed by NumPy's
``SeedSequence`` (O'Neill's seed_seq hashing), so nearby keys give unrelated seeds.
"""

from __future__ import annotations

import numpy as np
import torch

#: Streams: what a random draw is for (part of every key, so the streams never overlap).
CROPS = 0   # which image, where, and which flips, for training sample k
STEP = 1    # the global torch generator during step s on rank r (quantization noise, dropout)
LAMBDA = 2  # the rate-distortion trade-offs drawn for step s on rank r (variable-rate models)
INIT = 3    # the model's initial weights (the same key on every rank)


def derive_seed(*key: int) -> int:
    """A 64-bit seed from a tuple of non-negative integers (the same key, the same seed)."""
    return int(np.random.SeedSequence([int(k) for k in key]).generate_state(1, np.uint64)[0])


def generator(*key: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from ``key``."""
    return torch.Generator().manual_seed(derive_seed(*key))


def seed_global_rng(*key: int) -> None:
    """Seed torch's global generators (CPU and every GPU) from ``key``: the randomness a
    model draws itself, such as ``torch.rand_like`` for quantization noise."""
    torch.manual_seed(derive_seed(*key))
