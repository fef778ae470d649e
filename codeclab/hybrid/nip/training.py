"""Neural intra prediction: the network, its training task and its integer program.

The classic codec's extra luma intra modes (:mod:`codeclab.classic.common.nnintra`, which holds
the normative integer kernel and the formulas) are the ``heads`` outputs of one small
multilayer perceptron per block size, 4 to 32: 17 reduced reference samples in, two hidden
layers of ``hidden`` ReLU units, an r x r grid out per head (r = min(n, 8), larger blocks
interpolated). This module trains it with ``codeclab train --model nip`` and turns it into
the kernel's integer program.

Training task (:meth:`IntraPredictionNet.training_loss`). A block of an encoded picture is
predicted by whichever mode codes it cheapest, so a network mode only matters where it beats
the 35 HEVC modes. Each sample is a block of each size from the classic codec's training
pairs (:mod:`.pairs`): references from the reconstruction with exactly the availability of
z-scan order (:func:`available_references`), the target from the original. The cost of a
prediction is the mean absolute value of the orthonormal 2-D DCT of its error (a proxy for
the bits of the residual, as SATD is in the encoder's mode decision), and the loss is

    mean over blocks of  min(min_k cost(head k), min_m cost(HEVC mode m))
                         + aux * min_k cost(head k)

The first term is "winner takes all" among the heads *and* the classic modes: a head learns
from the blocks it wins, so the heads specialise on different content and on what the
angular modes do badly (Helle et al. trained their data-driven intra modes the same way,
"A data-driven approach to intra prediction", JVET-L0199 / ICIP 2019). The small ``aux``
term keeps every block pulling a little, so no head is starved early.

Integer program (:func:`integer_program`): weights ``round(W 2^12)``, hidden activations
with 10 fraction bits, the input in whole samples (the float network reads ``x / 128``), so

    k1 = 12 + 7 - 10 = 9,   k2 = 12,   k3 = 12 + 10 - 7 = 15

and biases ``round(b1 2^19)``, ``round(b2 2^22)``, ``round(b3 2^22)``. The rounding moves a
prediction by well under a sample (measured: :func:`integer_predict` against the float
forward in ``tests/hybrid/test_intra.py``); the shipped card records the difference.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from codeclab.classic.common.nnintra import BOUNDARY, GRID, INPUTS
from codeclab.classic.common.reference.intra import predict_all_modes, reference_positions, substitute_references
from codeclab.errors import InputError
from codeclab.hybrid.nip.program import (DEFAULT_WEIGHTS, FILE_DTYPES, PROGRAM_FIELDS, PROGRAM_KIND,
                                         check_program, program_fingerprint)
from codeclab.io.files import atomic_write
from codeclab.learned.program_file import save_program_file
from codeclab.learned.registry import register_model
from codeclab.train import seeding

#: Registry name (``codeclab train --model nip``).
MODEL_NAME = "nip"
SIZES = (4, 8, 16, 32)
#: Fraction bits of the integer program: weights and hidden activations.
WEIGHT_FRAC, HIDDEN_FRAC = 12, 10
#: Whole samples are 2^7 units of the float network's input x / 128.
INPUT_FRAC = 7
SHIFTS = (WEIGHT_FRAC + INPUT_FRAC - HIDDEN_FRAC, WEIGHT_FRAC, WEIGHT_FRAC + HIDDEN_FRAC - INPUT_FRAC)


def grid_side(n: int) -> int:
    """Side r of the predicted grid of an n x n block."""
    return min(n, GRID)


# -- the reduced boundary and the up-sampling (integer, shared by float and integer forms) ----
def reduced_boundary(refs: Tensor, n: int) -> tuple[Tensor, Tensor]:
    """``(x, mean)``: the 17 network inputs ``b - m`` and the level m, int64 ``(N, 17)``, ``(N, 1)``.

    ``refs``: ``(N, 4n+1)`` substituted references (left bottom-up, corner, top).
    """
    refs = refs.to(torch.int64)
    g = n // 4
    log2g = int(math.log2(g))
    left = refs[:, :2 * n].reshape(-1, BOUNDARY, g).sum(-1)
    top = refs[:, 2 * n + 1:].reshape(-1, BOUNDARY, g).sum(-1)
    if log2g:
        left, top = (left + (1 << (log2g - 1))) >> log2g, (top + (1 << (log2g - 1))) >> log2g
    mean = (left.sum(1, keepdim=True) + top.sum(1, keepdim=True) + 8) >> 4
    b = torch.cat([left, refs[:, 2 * n:2 * n + 1], top], 1)
    return b - mean, mean


def interpolation_weights(n: int) -> Tensor:
    """``(n, 9)`` integer weights of the up-sampling: output position p from the boundary
    (index 0, position -1) and the 8 grid samples (index j + 1, position f j + f - 1);
    divide by f = n / 8."""
    f = n // GRID
    weights = torch.zeros(n, GRID + 1, dtype=torch.int64)
    for p in range(n):
        j, d = p // f, p % f + 1  # between positions f j - 1 and f j + f - 1
        weights[p, j] = f - d
        weights[p, j + 1] = d
    return weights


def upsample(grid: Tensor, refs: Tensor, n: int, exact: bool) -> Tensor:
    """``(N, 8, 8)`` grid -> ``(N, n, n)`` block, rows then columns (kernel docstring).

    ``exact``: integer steps with the kernel's rounding (int64 in, int64 out); else the same
    interpolation in float, for training.
    """
    if n <= GRID:
        return grid
    f = n // GRID
    weights = interpolation_weights(n).to(grid.device)
    log2f = int(math.log2(f))
    rows = torch.arange(GRID, device=grid.device) * f + f - 1
    left = refs[:, 2 * n - 1 - rows].to(grid.dtype)           # (N, 8): x = -1 on those rows
    ext = torch.cat([left[:, :, None], grid], 2)               # (N, 8, 9)
    if exact:
        full_rows = (ext @ weights.T + (f >> 1)) >> log2f          # (N, 8, n)
    else:
        full_rows = ext @ weights.T.to(grid.dtype) / f
    top = refs[:, 2 * n + 1:3 * n + 1].to(grid.dtype)          # (N, n): y = -1
    ext = torch.cat([top[:, None, :], full_rows], 1)           # (N, 9, n)
    if exact:
        return (weights @ ext + (f >> 1)) >> log2f
    return weights.to(grid.dtype) @ ext / f


# -- the network ----------------------------------------------------------------------------
class SizeNet(nn.Module):
    """The perceptron of one block size: 17 -> hidden -> hidden -> heads * r^2."""

    def __init__(self, hidden: int, heads: int, side: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(INPUTS, hidden), nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, heads * side * side)
        nn.init.zeros_(self.fc3.weight)  # start from "predict the mean level" (DC-like)
        nn.init.zeros_(self.fc3.bias)
        self.heads, self.side = heads, side

    def forward(self, u: Tensor) -> Tensor:
        """``(N, 17)`` inputs ``x / 128`` -> ``(N, heads, r, r)`` offsets from the mean, / 128."""
        h = torch.relu(self.fc2(torch.relu(self.fc1(u))))
        return self.fc3(h).reshape(-1, self.heads, self.side, self.side)


class IntraPredictionNet(nn.Module):
    """The network modes of every block size (module docstring)."""

    def __init__(self, hidden: int = 64, heads: int = 4, aux: float = 0.1) -> None:
        super().__init__()
        if not 1 <= heads <= 8 or heads & (heads - 1):
            raise InputError(f"nip: heads must be 1, 2, 4 or 8 (coded in log2 bits), not {heads}")
        self.nets = nn.ModuleList(SizeNet(hidden, heads, grid_side(n)) for n in SIZES)
        self.hidden, self.heads, self.aux = hidden, heads, aux

    def forward(self, refs: Tensor, n: int) -> Tensor:
        """Float predictions ``(N, heads, n, n)`` of blocks with references ``(N, 4n+1)``."""
        x, mean = reduced_boundary(refs, n)
        grid = self.nets[SIZES.index(n)](x.to(torch.float32) / 128) * 128 + mean[:, :, None, None]
        grid = grid.clamp(0, 255)  # as the integer program clips its grid
        count, heads, r, _ = grid.shape
        block = upsample(grid.reshape(count * heads, r, r), refs.repeat_interleave(heads, 0), n, exact=False)
        return block.reshape(count, heads, n, n)

    # -- hooks of codeclab train (a tool that brings its own samples and loss) ------------------
    def training_dataset(self, data: str, crop: int, seed: int) -> torch.utils.data.Dataset:
        """Blocks of every size from the training pairs in ``data`` (``crop`` is unused)."""
        return BlockDataset(data, seed)

    def training_loss(self, forward, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``loss`` of the module docstring, summed over the sizes; also ``mse`` (best head,
        [0, 1] scale), ``win`` (share of blocks where a head beats every HEVC mode) and the
        per-size ``win_<n>``."""
        loss, mse, wins, parts = 0.0, 0.0, 0.0, {}
        for n in SIZES:
            refs, target = batch[f"refs{n}"], batch[f"target{n}"].to(torch.float32)
            pred = forward(refs, n)
            nn_cost = dct_cost(pred - target[:, None])                       # (N, heads)
            with torch.no_grad():
                classic = predict_all_modes(refs.to(torch.int32), n).to(torch.float32)
                classic_cost = dct_cost(classic - target[:, None]).min(1).values
            best = nn_cost.min(1).values
            loss = loss + torch.minimum(best, classic_cost).mean() + self.aux * best.mean()
            index = nn_cost.argmin(1)
            chosen = pred[torch.arange(len(pred)), index]
            mse = mse + ((chosen - target) / 255).square().mean().detach() / len(SIZES)
            win = (best < classic_cost).to(torch.float32).mean().detach()
            wins, parts[f"win_{n}"] = wins + win / len(SIZES), win
        return {"loss": loss, "mse": mse, "win": wins, **parts}


@register_model(MODEL_NAME)
def nip(hidden: int = 64, heads: int = 4, aux: float = 0.1) -> IntraPredictionNet:
    """The neural intra prediction network: ``hidden`` units per layer, ``heads`` modes."""
    return IntraPredictionNet(hidden, heads, aux)


def dct_matrix(n: int) -> Tensor:
    """Orthonormal DCT-II matrix ``(n, n)``: ``C[k, i] = a_k cos(pi (2i + 1) k / 2n)``."""
    i = torch.arange(n, dtype=torch.float64)
    c = torch.cos(math.pi * (2 * i[None] + 1) * i[:, None] / (2 * n)) * math.sqrt(2 / n)
    c[0] /= math.sqrt(2)
    return c.to(torch.float32)


def dct_cost(error: Tensor) -> Tensor:
    """Mean |2-D DCT| of ``(..., n, n)`` errors, in samples: the training's rate proxy."""
    c = dct_matrix(error.shape[-1]).to(error.device)
    return (c @ error @ c.T).abs().mean((-2, -1))


# -- training samples -------------------------------------------------------------------------
def decoding_order(x: Tensor, y: Tensor, width: int) -> Tensor:
    """Rank in decoding order of the 4x4 units holding luma samples (x, y): CTUs of 64 in
    raster order, units in z-order inside a CTU (§6.5.2)."""
    ux, uy = x >> 2, y >> 2
    ctu = (uy >> 4) * ((width + 63) // 64) + (ux >> 4)
    z = torch.zeros_like(ux)
    for bit in range(4):
        z |= ((ux >> bit) & 1) << (2 * bit) | ((uy >> bit) & 1) << (2 * bit + 1)
    return ctu * 256 + z


def available_references(plane: Tensor, x0: int, y0: int, n: int) -> Tensor:
    """``(4n+1,)`` references of the n x n block at (x0, y0) of a reconstructed ``plane``,
    available exactly when a decoder would have them (inside, and earlier in z-scan order),
    substituted as §8.4.4.2.2 does."""
    height, width = plane.shape
    dx, dy = reference_positions(n)
    xs, ys = x0 + dx, y0 + dy
    inside = (xs >= 0) & (xs < width) & (ys >= 0) & (ys < height)
    xc, yc = xs.clamp(0, width - 1), ys.clamp(0, height - 1)
    earlier = decoding_order(xc, yc, width) < decoding_order(torch.tensor(x0), torch.tensor(y0), width)
    samples = plane[yc, xc].to(torch.int32)[None]
    return substitute_references(samples, (inside & earlier)[None])[0]


class BlockDataset(torch.utils.data.Dataset):
    """Sample ``k`` -> one block of each size from a random pair: ``refs<n>`` int64 ``(4n+1,)``
    (reconstruction) and ``target<n>`` int64 ``(n, n)`` (original), at a random position
    aligned to n. Uses the luma of the pair shards of :mod:`.pairs` (kept in memory)."""

    def __init__(self, root: str | os.PathLike, seed: int) -> None:
        from codeclab.hybrid.nnlf.training.pairs import load_shard

        root = Path(root)
        paths = sorted(root.glob("*.npz")) if root.is_dir() else []
        if not paths:
            raise InputError(f"{root} holds no training pairs (*.npz): make them with "
                             f"'codeclab make-pairs --data PHOTOS --out {root}'")
        shards = [load_shard(p) for p in paths]
        self.paths = paths
        self.recon = [torch.from_numpy(s["recon_y"]) for s in shards]
        self.orig = [torch.from_numpy(s["orig_y"]) for s in shards]
        self.index = [(i, j) for i, s in enumerate(self.recon) for j in range(len(s))]
        self.seed = seed

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> dict[str, Tensor]:
        generator = seeding.generator(self.seed, seeding.CROPS, k)
        shard, j = self.index[int(torch.randint(len(self.index), (), generator=generator))]
        recon, orig = self.recon[shard][j], self.orig[shard][j]
        height, width = recon.shape
        item = {}
        for n in SIZES:
            y0 = n * int(torch.randint(height // n, (), generator=generator))
            x0 = n * int(torch.randint(width // n, (), generator=generator))
            item[f"refs{n}"] = available_references(recon, x0, y0, n).to(torch.int64)
            item[f"target{n}"] = orig[y0:y0 + n, x0:x0 + n].to(torch.int64)
        return item


# -- the integer program ----------------------------------------------------------------------
def integer_program(model: IntraPredictionNet) -> tuple[np.ndarray, ...]:
    """The kernel's :data:`~codeclab.classic.common.nnintra.Program` of a trained network."""
    hidden, heads = model.hidden, model.heads
    w1 = np.zeros((4, hidden, INPUTS), np.int64)
    b1, b2 = np.zeros((4, hidden), np.int64), np.zeros((4, hidden), np.int64)
    w2 = np.zeros((4, hidden, hidden), np.int64)
    w3 = np.zeros((4, heads * GRID * GRID, hidden), np.int64)
    b3 = np.zeros((4, heads * GRID * GRID), np.int64)
    shifts = np.tile(np.array(SHIFTS, np.int64), (4, 1))

    def fixed(t: Tensor, frac: int) -> np.ndarray:
        return torch.round(t.detach().to(torch.float64) * 2.0 ** frac).to(torch.int64).numpy()

    for s, net in enumerate(model.nets):
        r2 = net.side ** 2
        w1[s], b1[s] = fixed(net.fc1.weight, WEIGHT_FRAC), fixed(net.fc1.bias, WEIGHT_FRAC + INPUT_FRAC)
        w2[s], b2[s] = fixed(net.fc2.weight, WEIGHT_FRAC), fixed(net.fc2.bias, WEIGHT_FRAC + HIDDEN_FRAC)
        w, b = fixed(net.fc3.weight, WEIGHT_FRAC), fixed(net.fc3.bias, WEIGHT_FRAC + HIDDEN_FRAC)
        for k in range(heads):  # head k's r^2 outputs at rows k r^2 .. (k + 1) r^2 - 1
            w3[s, k * r2:(k + 1) * r2] = w[k * r2:(k + 1) * r2]
            b3[s, k * r2:(k + 1) * r2] = b[k * r2:(k + 1) * r2]
    return w1, b1, w2, b2, w3, b3, shifts


def _round_shift(value: Tensor, shift: int) -> Tensor:
    return (value + (1 << (shift - 1))) >> shift if shift > 0 else value


def integer_predict(refs: Tensor, n: int, head: int, program: tuple[np.ndarray, ...],
                    bit_depth: int = 8) -> Tensor:
    """The kernel's prediction of N blocks, vectorised in int64 torch: ``(N, n, n)``.

    The readable twin of :func:`codeclab.classic.common.nnintra.nn_predict`, which must equal it.
    """
    w1, b1, w2, b2, w3, b3, shifts = (torch.from_numpy(np.asarray(a)) for a in program)
    s = int(math.log2(n)) - 2
    k1, k2, k3 = (int(v) for v in shifts[s])
    x, mean = reduced_boundary(refs, n)
    h = torch.relu(_round_shift(x @ w1[s].T + b1[s], k1))
    h = torch.relu(_round_shift(h @ w2[s].T + b2[s], k2))
    r = grid_side(n)
    rows = slice(head * r * r, (head + 1) * r * r)
    out = _round_shift(h @ w3[s, rows].T + b3[s, rows], k3)
    grid = (mean + out).clamp(0, (1 << bit_depth) - 1).reshape(-1, r, r)
    return upsample(grid, refs.to(torch.int64), n, exact=True)


def program_cost(hidden: int, heads: int) -> dict:
    """Parameters (without the padding of the 4x4 outputs) and the multiply-accumulates per
    predicted sample of one network mode, by block size."""
    parameters, macs = 0, {}
    for n in SIZES:
        outputs = grid_side(n) ** 2
        parameters += (INPUTS + 1) * hidden + (hidden + 1) * hidden + (hidden + 1) * heads * outputs
        macs[str(n)] = round((INPUTS * hidden + hidden * hidden + hidden * outputs) / (n * n), 1)
    return {"parameters": parameters, "mac_per_predicted_sample": macs}


def save_program(path: str | os.PathLike, program: tuple[np.ndarray, ...], card: dict) -> tuple[Path, Path]:
    """Write ``path`` (.safetensors) and its card (.json); the card gains size and fingerprint."""
    check_program(program)
    hidden, heads = program[0].shape[1], program[4].shape[1] // (GRID * GRID)
    card = {**card, "fingerprint": program_fingerprint(program), "hidden": hidden, "heads": heads,
            **program_cost(hidden, heads)}
    tensors = {name: np.ascontiguousarray(a, dtype=FILE_DTYPES[name]) for name, a in zip(PROGRAM_FIELDS, program)}
    return save_program_file(path, tensors, PROGRAM_KIND, card)


def run_export(args) -> int:
    """``codeclab export nip``: trained float weights (``codeclab train --model nip``) as the
    shipped program, or a benchmark summary recorded in its card."""
    from codeclab.train.checkpoint import load_exported

    out = Path(args.out or DEFAULT_WEIGHTS).with_suffix(".safetensors")
    if args.evaluation:
        card_path = out.with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.exists() else {}
        card["evaluation"] = json.loads(Path(args.evaluation).read_text())
        atomic_write(card_path, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
        print(f"recorded {args.evaluation} in {card_path}")
        return 0
    if not args.weights:
        raise InputError("name the trained weights to export (or --evaluation SUMMARY.json)")
    if out.exists() and not args.force:
        raise InputError(f"{out} exists (use --force to overwrite)")
    state, header = load_exported(args.weights)
    if header.get("codeclab.model") != MODEL_NAME:
        raise InputError(f"{args.weights} holds {header.get('codeclab.model')!r} weights, not {MODEL_NAME!r}")
    model_args = json.loads(header.get("codeclab.model_args", "{}"))
    model = IntraPredictionNet(**model_args)
    model.load_state_dict(state)
    run_card = Path(args.weights).with_suffix(".json")
    card = {"model": MODEL_NAME, "model_args": model_args, "source": str(args.weights),
            "training_run": json.loads(run_card.read_text()) if run_card.exists() else None}
    path, card_path = save_program(out, integer_program(model), card)
    print(f"wrote {path} and {card_path}")
    return 0
