"""The overfitted codec's encoder: optimise latents and networks for one picture, then code them.

Encoding *is* training (Ladune et al., "COOL-CHIC", ICCV 2023; Kim et al., "C3", CVPR 2024)::

    minimise  D + lambda R  over  latents y_0..y_{L-1}, ARM, upsampling, synthesis
              D = mean squared error of RGB in [0, 1],  R = latent bits per pixel (ARM's Laplace)

    1. start:   the shipped prior networks of the nearest quality (:mod:`.prior`, fitted on
                training pictures), latents 0; without a prior, a few random starts (network
                initialisations), a short run each, keeping the one with the lowest loss
    2. main:    Adam, cosine learning rate (latents 6x the networks' rate: they start at 0 and
                must travel several units in a few hundred steps); latents quantised by soft
                rounding with added noise, s(s(y, T) + n, T), n ~ N(0, sigma^2), temperature
                T annealed 0.3 -> 0.1 and sigma 0.25 -> 0.1 (Agustsson & Theis, "Universally
                quantized neural compression", 2020; the schedule of C3, Kim et al. 2024)
    3. final:   hard rounding with a straight-through gradient, small learning rate; keep the
                best state seen
    4. networks quantised: per group (upsampling, ARM, synthesis) and kind (weights, biases)
                the step 2^-k that minimises D + lambda (R + network bits) / pixels
    5. written: latents rounded, streams coded (:mod:`.syntax`, :mod:`.latents`); the
                reconstruction is the decoder's own :func:`.decoder.reconstruct`

An :class:`Effort` preset sets the iteration counts. Runs on the CPU, or on a GPU with
``device="cuda"``. On CPUs with native bfloat16 the wide hidden layers (ARM, first synthesis
layer) train in bfloat16 and the narrow ones channels-last; the coded integers and the
decoder do not depend on how the encoder computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from codeclab.errors import InputError
from codeclab.learned.overfit.architecture import BICUBIC_TAPS, GROUPS, LATENT_LIMIT, MAX_PIXELS, Architecture, group_of
from codeclab.learned.overfit.arm import arm_float, contexts, laplace_bits
from codeclab.learned.overfit.decoder import reconstruct
from codeclab.learned.overfit.effort import EFFORTS, Effort, effort_of  # noqa: F401  (the presets, re-exported)
from codeclab.learned.overfit.latents import encode_latents
from codeclab.learned.overfit.prior import load_prior
from codeclab.learned.overfit.syntax import (MAX_STEP_BITS, VALUE_LIMIT, QuantizedNetworks, integer_arm,
                                             networks_bits, pack_payload)
from codeclab.learned.overfit.synthesis import combine, synthesize

# -- the float model --------------------------------------------------------------------------


def initial_parameters(architecture: Architecture, height: int, width: int,
                       generator: torch.Generator) -> tuple[list[Tensor], dict[str, Tensor]]:
    """Zero latents; bicubic upsampling; random first layers, zero residual layers."""
    latents = [torch.zeros(h, w) for h, w in architecture.latent_shapes(height, width)]
    nets = {}
    for name, shape in architecture.parameter_shapes().items():
        if name == "upsample.taps":
            nets[name] = torch.tensor(BICUBIC_TAPS).repeat(shape[0], 1)
        elif name.endswith("bias") or name in ("arm.2.weight", "synthesis.2.weight", "synthesis.3.weight"):
            nets[name] = torch.zeros(shape)
        else:
            fan_in = math.prod(shape[1:])
            bound = math.sqrt(6.0 / fan_in) if name != "synthesis.1.weight" else math.sqrt(1.0 / fan_in)
            nets[name] = (torch.rand(shape, generator=generator) * 2 - 1) * bound
    return latents, nets


def soft_round(x: Tensor, temperature: float) -> Tensor:
    """``floor(x) + 1/2 + tanh(r / T) / (2 tanh(1 / (2 T)))``, r = x - floor(x) - 1/2."""
    base = torch.floor(x).detach()
    r = x - base - 0.5
    return base + 0.5 + torch.tanh(r / temperature) / (2.0 * math.tanh(0.5 / temperature))


def quantize_latent(y: Tensor, mode: str, temperature: float = 0.1, noise: float = 0.25,
                    generator: torch.Generator | None = None) -> Tensor:
    """"soft": ``s(s(y, T) + n, T)`` with Gaussian noise ``n`` of deviation ``noise``;
    "hard": ``round(y)`` with a straight-through gradient."""
    if mode == "soft":
        n = torch.randn(y.shape, generator=generator, device=y.device, dtype=y.dtype)
        return soft_round(soft_round(y, temperature) + noise * n, temperature)
    return y + (torch.round(y) - y).detach()


def forward(latents: list[Tensor], nets: dict[str, Tensor], height: int, width: int,
            hidden_dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    """(RGB picture (3, H, W), total latent bits) of quantised latents; ``hidden_dtype``
    as :func:`.arm.arm_float` (the optimisation uses :func:`training_dtype`)."""
    ctx = torch.cat([contexts(y if hidden_dtype is None else y.to(hidden_dtype)) for y in latents])
    values = torch.cat([y.reshape(-1) for y in latents])
    mu, t = arm_float(ctx, nets, hidden_dtype)
    bits = laplace_bits(values, mu, t).sum()
    x = combine([y[None, None] for y in latents], nets["upsample.taps"])
    x = synthesize(x, nets, hidden_dtype=hidden_dtype)[0, :, :height, :width]
    return x, bits


def training_dtype(device: torch.device) -> torch.dtype | None:
    """bfloat16 for the wide hidden layers where the CPU multiplies it natively (AVX-512
    BF16 or AMX), else none: emulated bfloat16 would be slower than float32."""
    if device.type != "cpu":
        return None
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return torch.bfloat16 if native else None


def rd_loss(x: Tensor, target: Tensor, bits: Tensor, lmbda: float) -> tuple[Tensor, Tensor, Tensor]:
    mse = torch.mean((x - target) ** 2)
    bpp = bits / (target.shape[-1] * target.shape[-2])
    return mse + lmbda * bpp, mse, bpp


# -- the optimisation -------------------------------------------------------------------------

#: Run the wide hidden layers in bfloat16 where the CPU has it (:func:`training_dtype`):
#: faster steps (benchmarks/overfit_speed.py --compare-precision measures by how much).
TRAINING_BF16 = True

#: Learning rate of the latents relative to the networks'.
LATENT_LR_SCALE = 6.0


@dataclass
class _State:
    latents: list[Tensor]
    nets: dict[str, Tensor]

    def parameters(self) -> list[Tensor]:
        return [*self.latents, *self.nets.values()]

    def clone(self) -> "_State":
        return _State([y.detach().clone() for y in self.latents], {k: v.detach().clone() for k, v in self.nets.items()})


def _train(state: _State, target: Tensor, lmbda: float, iterations: int, lr: float, mode: str,
           temperatures: tuple[float, float], noises: tuple[float, float] = (0.25, 0.1), progress=None,
           keep_best: bool = False, generator: torch.Generator | None = None) -> tuple[_State, float]:
    """Adam over ``iterations`` with a cosine learning rate; returns the final (or best) state."""
    params = state.parameters()
    for p in params:
        p.requires_grad_(True)
    groups = [{"params": state.latents, "scale": LATENT_LR_SCALE}, {"params": list(state.nets.values()), "scale": 1.0}]
    optimiser = torch.optim.Adam(groups, lr=lr)
    height, width = target.shape[-2:]
    hidden_dtype = training_dtype(target.device) if TRAINING_BF16 else None
    best, best_loss, loss = None, math.inf, torch.tensor(math.inf)
    for i in range(iterations):
        frac = i / max(iterations - 1, 1)
        for group in optimiser.param_groups:
            group["lr"] = group["scale"] * (lr * 0.5 * (1 + math.cos(math.pi * frac)) if mode == "soft" else lr)
        temperature = temperatures[0] + (temperatures[1] - temperatures[0]) * frac
        noise = noises[0] + (noises[1] - noises[0]) * frac
        y_hat = [quantize_latent(y, mode, temperature, noise, generator) for y in state.latents]
        x, bits = forward(y_hat, state.nets, height, width, hidden_dtype)
        loss, mse, bpp = rd_loss(x, target, bits, lmbda)
        if keep_best and loss.item() < best_loss:  # the state that gave this loss, before the step
            best, best_loss = state.clone(), loss.item()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            for y in state.latents:
                y.clamp_(-LATENT_LIMIT, LATENT_LIMIT)
        if progress is not None:
            progress.update(1)
            if i % 20 == 0:
                progress.set_postfix(bpp=f"{bpp.item():.3f}", psnr=f"{-10 * math.log10(max(mse.item(), 1e-10)):.2f}")
    for p in params:
        p.requires_grad_(False)
    if keep_best and best is not None:
        return best, best_loss
    return state, loss.item()


def optimise(target: Tensor, lmbda: float, effort: Effort, seed: int = 0, progress=None,
             use_prior: bool = True) -> _State:
    """Steps 1-3 of the module docstring on a (3, H, W) float target in [0, 1]."""
    height, width = target.shape[-2:]
    generator = torch.Generator().manual_seed(seed)  # network initialisations
    noise = torch.Generator(device=target.device).manual_seed(seed)  # same picture, same stream
    prior = load_prior(lmbda, effort.architecture) if use_prior else None
    if prior is not None:  # learned starting networks: the random starts' steps go to the main run
        latents, _ = initial_parameters(effort.architecture, height, width, generator)
        nets = {k: v.to(target.device).clone() for k, v in prior.items()}
        best = _State([y.to(target.device) for y in latents], nets)
        main_iterations = effort.total_iterations - effort.final
    else:
        best = _best_random_start(target, lmbda, effort, generator, noise, progress)
        main_iterations = effort.iterations
    state, _ = _train(best, target, lmbda, main_iterations, effort.learning_rate, "soft", (0.3, 0.1), (0.25, 0.1),
                      progress, generator=noise)
    state, _ = _train(state, target, lmbda, effort.final, effort.learning_rate * 0.01, "hard", (0.1, 0.1), (0.0, 0.0),
                      progress, keep_best=True)
    return state


def _best_random_start(target: Tensor, lmbda: float, effort: Effort, generator: torch.Generator,
                       noise: torch.Generator, progress) -> _State:
    """Of ``effort.starts`` random network initialisations, the one with the lowest loss after
    ``effort.warmup`` steps (the first one, untrained, with one start or no warm-up)."""
    height, width = target.shape[-2:]
    best, best_loss = None, math.inf
    for _ in range(max(effort.starts, 1)):
        latents, nets = initial_parameters(effort.architecture, height, width, generator)
        state = _State([y.to(target.device) for y in latents], {k: v.to(target.device) for k, v in nets.items()})
        if effort.starts <= 1 or effort.warmup <= 0:
            return state
        state, loss = _train(state, target, lmbda, effort.warmup, effort.learning_rate, "soft", (0.3, 0.3),
                             (0.25, 0.25), progress, generator=noise)
        if loss < best_loss:
            best, best_loss = state, loss
    return best


# -- quantisation of the networks and writing -------------------------------------------------

def quantize_values(w: Tensor, bits: int) -> np.ndarray:
    return np.clip(np.round(w.detach().cpu().double().numpy() * 2.0 ** bits), -VALUE_LIMIT, VALUE_LIMIT).astype(np.int64)


def _networks(nets: dict[str, Tensor], architecture: Architecture, steps: dict[str, tuple[int, int]]) -> QuantizedNetworks:
    values = {}
    for name in architecture.parameter_shapes():
        k_w, k_b = steps[group_of(name)]
        values[name] = quantize_values(nets[name], k_b if name.endswith("bias") else k_w)
    return QuantizedNetworks(architecture, dict(steps), values)


def quantize_networks(state: _State, target: Tensor, lmbda: float, architecture: Architecture) -> QuantizedNetworks:
    """Per group and kind, the step 2^-k minimising D + lambda (R + network bits) / pixels
    (coordinate descent from k = 10 towards coarser steps while the loss falls)."""
    latents = [torch.round(y) for y in state.latents]
    height, width = target.shape[-2:]
    frac_limit = {"arm": 8, "synthesis": 12, "upsample": MAX_STEP_BITS}

    def cost(steps):
        q = _networks(state.nets, architecture, steps)
        nets = {k: v.to(target.device) for k, v in q.to_float().items()}
        with torch.no_grad():
            x, bits = forward(latents, nets, height, width)
        loss, _, _ = rd_loss(x, target, bits + networks_bits(q), lmbda)
        return loss.item()

    steps = {group: (10, 10) for group in GROUPS}
    best = cost(steps)
    for group in GROUPS:
        for kind in (0, 1):
            for direction in (-1, 1):
                while True:
                    trial = list(steps[group])
                    trial[kind] += direction
                    if not 0 <= trial[kind] <= MAX_STEP_BITS or trial[1] > trial[0] + frac_limit[group]:
                        break
                    candidate = {**steps, group: tuple(trial)}
                    c = cost(candidate)
                    if c >= best:
                        break
                    steps, best = candidate, c
    return _networks(state.nets, architecture, steps)


@dataclass
class EncodedPicture:
    payload: bytes
    recon: Tensor  # (3, H, W) uint8, the decoder's output
    networks: QuantizedNetworks
    latent_bytes: int
    network_bytes: int


def encode_picture(image: Tensor, lmbda: float, effort: Effort, device: str = "cpu", seed: int = 0,
                   progress=None) -> EncodedPicture:
    """Optimise, quantise and code a (3, H, W) uint8 picture (module docstring)."""
    height, width = image.shape[-2:]
    if height * width > MAX_PIXELS:
        raise InputError(f"overfit codes pictures of at most {MAX_PIXELS} pixels, not {width}x{height}")
    target = image.to(device=device, dtype=torch.float32) / 255.0
    state = optimise(target, lmbda, effort, seed, progress)
    q = quantize_networks(state, target, lmbda, effort.architecture)
    grids = [torch.round(y).clamp(-LATENT_LIMIT, LATENT_LIMIT).cpu().numpy().astype(np.int64) for y in state.latents]
    latent_stream = encode_latents(grids, integer_arm(q))
    payload = pack_payload(q, latent_stream)
    recon = reconstruct(grids, q, height, width)
    return EncodedPicture(payload, recon, q, len(latent_stream), len(payload) - len(latent_stream))
