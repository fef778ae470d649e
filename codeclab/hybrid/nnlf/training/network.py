"""The neural loop filter's network: two small residual CNNs on the 4:2:0 picture, conditioned on QP.

Both branches run at chroma resolution, a quarter of the luma samples. Luma is filtered on its
2x2 phases (a pixel-unshuffle, as JVET's NNVC filters run luma), so each 3x3 kernel spans 6x6
luma samples and the convolutions are wide (32 channels) at a quarter of the positions::

    4 Y phases - 128, QP plane ─► conv3x3 5->Cy, ReLU ─► (conv3x3 Cy->Cy, ReLU) x (Ly-2) ─► conv3x3 Cy->4
                                                              ─► pixel shuffle ─► + Y
    (luma_half_res=False: Y - 128, QP plane ─► conv3x3 2->Cy ... Cy->1 ─► + Y, at full resolution)

    4 Y phases - 128, Cb, Cr, QP plane ─► conv3x3 7->Cc, ReLU ─► (conv3x3 Cc->Cc, ReLU) x (Lc-2)
                                       ─► conv3x3 Cc->2 ─► + Cb, Cr
    (chroma_guide=False: Cb, Cr, QP plane only, 3->Cc)

Samples enter as ``(v - 128) / 256`` and the QP as ``(QP - 32) / 64``; each branch outputs a
residual added to its input, with the last layer initialised to zero so training starts
from the identity (VRCNN, Dai et al., "A convolutional neural network approach for
post-processing in HEVC intra coding", MMM 2017, and most in-loop CNNs since learn the
residual). One set of weights serves every QP of the range it was trained on, through the QP
plane (NNVC's filters take the QP as an input too).

Why half resolution for luma: speed at equal cost. oneDNN's 3x3 convolutions are
inefficient at few channels, so a full-resolution branch of 16 channels decodes slower than
a half-resolution one of 32 channels and the same MACs; per step of training the latter
learns more slowly (four phase filters share nothing) and needs the longer run it got.

Why chroma is guided by luma: JVET's NNVC filters feed the co-located luma to the chroma
branch (here its 4 phases, which sit on the chroma grid). Trained from scratch the guide
hurt, so it was learnt on top of a trained unguided branch: the first layer widened from 3
to 7 inputs with zero weights on the luma phases (the same filter at step 0), then trained
on. ``chroma_guide=False`` builds the unguided variant; the integer program recognises
either from its first layer.

The measurements behind both choices, and every run of the shipped program, are in its
model card (``codeclab/data/weights/nnlf.json``: ``design_notes`` and ``training``).

Cost with the defaults (Cy = 32, Ly = 4 at half resolution; Cc = 32, Lc = 4, guided):
9 (5 Cy + (Ly-2) Cy^2 + 4 Cy) / 4 = 5.3 k multiply-accumulates per luma sample for luma and
9 (7 Cc + (Lc-2) Cc^2 + 2 Cc) / 4 = 5.3 k for chroma: 10.5 kMAC per luma sample and 42.2 k
parameters, the class of JVET's low-complexity filters. The size is set by the decoding
budget, not by the gain: on Kodak at QP 32 the classic decoder takes 0.04 to 0.06 s a picture
(by machine), and the filter must not double that. Its convolutions are compute-bound
(the 32 -> 32 layers run near the two cores' float32 peak), so the budget is in MACs.

Training (:meth:`LoopFilterNet.training_loss`, driven by ``codeclab train``) minimises the
mean squared error of Y, Cb and Cr, each plane weighted equally: PSNR-RGB, the target
metric, draws on chroma about as much as on luma (R = Y + 1.57 Cr, B = Y + 1.86 Cb in BT.709).
A batch mixes QPs, and a window coded at QP 37 has about eight times the squared error of one
at QP 22, so the plain MSE spends the network on the high QPs. ``relative_loss=True`` instead
minimises each window's and plane's error *relative to its unfiltered error*,
``mean_(n, p) MSE_np(out) / MSE_np(recon)``: to first order the mean PSNR gain in dB
(-10 log10 r ~ 4.34 (1 - r)), which weighs every QP alike, as a BD-rate over QPs does.

Quantisation-aware training (``qat=True``, Jacob et al., "Quantization and training of neural
networks for efficient integer-arithmetic-only inference", CVPR 2018): the forward pass
rounds weights, biases and activations exactly as the integer program of :mod:`.integer`
does, and gradients pass the roundings unchanged (straight-through estimator, Bengio et al.
2013). The fraction bits of each hidden activation are calibrated once, on the first QAT
batch, from the float network's peaks (a buffer, so checkpoints keep them). The float run
comes first; the QAT run starts from its weights (``codeclab train --init``).

``int8=True`` trains the program's 8-bit form (:func:`~.integer.int8_layer`), the one that
ships: weights on a power-of-two grid per output channel with |W| <= 127, activations on
grids that fit 0..255, the residual clipped to -128..127 quarter samples -- nearly the gain
of the 10-bit form (the card's ``design_notes``) for a filter that decodes about five times
faster (:mod:`.int8`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from codeclab.hybrid.nnlf.integer import (ACT_MAX, INPUT_FRAC, INT8_ACT_MAX, INT8_RESIDUAL_MAX, OUTPUT_FRAC,
                                          Layers, Program, activation_frac, channel_exponents, chroma_input,
                                          input_max_of, int8_layer, integer_layer, luma_input, luma_residual,
                                          quantize_channels, quantize_layer, round_half_up, weight_exponent)
from codeclab.learned.registry import register_model

#: Registry name of the network (``codeclab train --model nnlf``).
MODEL_NAME = "nnlf"


def normalise(samples: Tensor) -> Tensor:
    """8-bit samples (any dtype) -> ``(v - 128) / 256`` as float32, exact."""
    return (samples.to(torch.float32) - 128) / 256


def qp_plane_value(qp: Tensor) -> Tensor:
    """The QP input ``(QP - 32) / 64`` (= 4 (QP - 32) / 2^8, an exact fixed-point value)."""
    return (qp.to(torch.float32) - 32) / 64


def straight_through(x: Tensor, rounded: Tensor) -> Tensor:
    """``rounded`` in the forward pass, the identity's gradient in the backward pass."""
    return x + (rounded - x).detach()


def fake_round(x: Tensor, frac: int) -> Tensor:
    """``x`` on the grid 2^-frac, rounded half up, with a straight-through gradient."""
    return straight_through(x, round_half_up(x * 2.0 ** frac) / 2.0 ** frac)


def clip_samples(x: Tensor) -> Tensor:
    """Normalised samples clipped to the 8-bit range (the program's final clip), straight-through."""
    return straight_through(x, x.clamp(-128 / 256, 127 / 256))


class ConvStack(nn.Module):
    """3x3 convolutions with ReLU between them; the residual of one branch (module docstring)."""

    def __init__(self, c_in: int, channels: int, layers: int, c_out: int, int8: bool = False) -> None:
        super().__init__()
        #: The 8-bit form (:func:`~.integer.int8_layer`): per-channel weight grids, activations
        #: up to 255, the residual clipped to -128..127 quarter samples.
        self.int8 = int8
        self.ceiling = INT8_ACT_MAX if int8 else ACT_MAX
        if layers < 2 or channels < 1:
            raise ValueError(f"a branch needs at least 2 layers and 1 channel, got {layers}, {channels}")
        widths = [c_in] + [channels] * (layers - 1) + [c_out]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:]))
        for conv in self.convs[:-1]:  # He et al. 2015: keeps the signal's variance through the ReLUs
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        nn.init.zeros_(self.convs[-1].weight)  # start from the identity
        nn.init.zeros_(self.convs[-1].bias)
        #: Fraction bits of each hidden activation; -1 until calibrated (:meth:`calibrate`).
        self.register_buffer("act_frac", torch.full((layers - 1,), -1, dtype=torch.int64))

    @property
    def calibrated(self) -> bool:
        return bool((self.act_frac >= 0).all())

    def fractions(self, index: int) -> tuple[int, int]:
        """(fraction bits in, out) of layer ``index``; the last layer gives quarter samples."""
        frac_in = INPUT_FRAC if index == 0 else int(self.act_frac[index - 1])
        frac_out = int(self.act_frac[index]) if index < len(self.convs) - 1 else OUTPUT_FRAC
        return frac_in, frac_out

    @torch.no_grad()
    def calibrate(self, x: Tensor) -> None:
        """Set each hidden layer's fraction bits from its float peak on the input ``x``
        (the largest over all processes of a distributed run, so the replicas agree)."""
        peaks = []
        for conv in self.convs[:-1]:
            x = F.relu(conv(x))
            peaks.append(x.amax())
        peaks = torch.stack(peaks)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(peaks, op=torch.distributed.ReduceOp.MAX)
        self.act_frac.copy_(torch.tensor([activation_frac(float(p), self.ceiling) for p in peaks]))

    def quantized_conv(self, index: int, a: Tensor) -> Tensor:
        """Layer ``index`` with weights and bias on the integer program's grid (straight-through)."""
        conv = self.convs[index]
        frac_in, frac_out = self.fractions(index)
        input_max = input_max_of(index, self.ceiling)
        if self.int8:
            exponents = channel_exponents(conv.weight, conv.bias, frac_in, frac_out, input_max)
            w_int, b_int = quantize_channels(conv.weight, conv.bias, exponents, frac_in)
            scale = 2.0 ** -exponents.to(torch.float64)
            w_real, b_real = w_int * scale[:, None, None, None], b_int * scale * 2.0 ** -frac_in
        else:
            exponent = weight_exponent(conv.weight, conv.bias, frac_in, frac_out, input_max)
            w_int, b_int = quantize_layer(conv.weight, conv.bias, exponent, frac_in)
            w_real, b_real = w_int * 2.0 ** -exponent, b_int * 2.0 ** -(exponent + frac_in)
        weight = straight_through(conv.weight, w_real.to(conv.weight.dtype))
        bias = straight_through(conv.bias, b_real.to(conv.bias.dtype))
        return F.conv2d(a, weight, bias, padding=1)

    def forward(self, x: Tensor, qat: bool = False) -> Tensor:
        """The residual of input ``x``; ``qat`` rounds as the integer program does (to quarter
        samples, then, at the unit residual scale, to whole samples)."""
        last = len(self.convs) - 1
        if not qat:
            for conv in self.convs[:-1]:
                x = F.relu(conv(x))
            return self.convs[-1](x)
        if not self.calibrated:
            raise RuntimeError("quantisation-aware forward before calibrate(): activation grids unknown")
        for index in range(last):
            frac_out = int(self.act_frac[index])
            x = fake_round(self.quantized_conv(index, x).clamp(0, self.ceiling * 2.0 ** -frac_out), frac_out)
        residual = fake_round(self.quantized_conv(last, x), OUTPUT_FRAC)
        if self.int8:  # the 8-bit residual: -128..127 quarter samples
            unit = 2.0 ** -OUTPUT_FRAC
            residual = straight_through(residual, residual.clamp(-(INT8_RESIDUAL_MAX + 1) * unit,
                                                                 INT8_RESIDUAL_MAX * unit))
        return fake_round(residual, INPUT_FRAC)

    def integer_layers(self) -> Layers:
        """This calibrated branch as fixed-point layers (:mod:`.integer`)."""
        if not self.calibrated:
            raise ValueError("the network's activation grids are not calibrated: fine-tune it with qat=true first")
        last = len(self.convs) - 1
        build = int8_layer if self.int8 else integer_layer
        return tuple(build(conv.weight, conv.bias, *self.fractions(i), input_max_of(i, self.ceiling), hidden=i < last)
                     for i, conv in enumerate(self.convs))


class LoopFilterNet(nn.Module):
    """The filter network (module docstring); ``qat=True`` runs the integer program's roundings."""

    def __init__(self, luma_channels: int = 32, luma_layers: int = 4, chroma_channels: int = 32,
                 chroma_layers: int = 4, qat: bool = False, chroma_guide: bool = True,
                 luma_half_res: bool = True, relative_loss: bool = False, int8: bool = False) -> None:
        super().__init__()
        self.luma = ConvStack(5, luma_channels, luma_layers, 4, int8) if luma_half_res else \
            ConvStack(2, luma_channels, luma_layers, 1, int8)
        self.chroma = ConvStack(7 if chroma_guide else 3, chroma_channels, chroma_layers, 2, int8)
        self.qat, self.chroma_guide, self.luma_half_res = qat, chroma_guide, luma_half_res
        self.relative_loss = relative_loss

    @property
    def receptive_radius(self) -> int:
        """Luma samples a cut window edge reaches into the output (even): one per luma layer
        (two at half resolution), two per chroma layer."""
        luma = len(self.luma.convs) * (2 if self.luma_half_res else 1)
        return max(luma + luma % 2, 2 * len(self.chroma.convs))

    def forward(self, y: Tensor, c: Tensor, qp: Tensor) -> tuple[Tensor, Tensor]:
        """Filter normalised luma (N, 1, H, W) and chroma (N, 2, H/2, W/2) coded at ``qp`` (N,)."""
        q = qp_plane_value(qp)
        half = self.luma_half_res
        out_y = y + luma_residual(self.luma(luma_input(y, q, half), self.qat), half)
        out_c = c + self.chroma(chroma_input(y, c, q, self.chroma_guide), self.qat)
        if self.qat:
            return clip_samples(out_y), clip_samples(out_c)
        return out_y, out_c

    def calibrate(self, y: Tensor, c: Tensor, qp: Tensor) -> None:
        """Calibrate both branches' activation grids on one batch."""
        q = qp_plane_value(qp)
        self.luma.calibrate(luma_input(y, q, self.luma_half_res))
        self.chroma.calibrate(chroma_input(y, c, q, self.chroma_guide))

    # -- hooks of codeclab train (a tool that brings its own samples and loss) ------------------
    def training_dataset(self, data: str, crop: int, seed: int) -> torch.utils.data.Dataset:
        """Windows of ``crop`` luma samples from the training pairs in ``data`` (:mod:`.pairs`)."""
        from codeclab.hybrid.nnlf.training.pairs import PairDataset

        return PairDataset(data, crop, self.receptive_radius, seed)

    def training_loss(self, forward, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``loss`` = MSE(Y) + MSE(Cb) + MSE(Cr) over the unmasked samples (``relative_loss``:
        3 x the mean over windows and planes of MSE(out) / MSE(recon)); also ``mse`` (all planes,
        [0, 1] scale, for the loop's PSNR), ``mse_unfiltered`` (the same for the input) and
        ``mse_y``, ``mse_c``. ``forward`` is this model or its DDP wrapper."""
        y, c = normalise(batch["recon_y"]), normalise(batch["recon_c"])
        target_y, target_c = normalise(batch["orig_y"]), normalise(batch["orig_c"])
        if self.qat and not (self.luma.calibrated and self.chroma.calibrated):
            self.calibrate(y, c, batch["qp"])
        out_y, out_c = forward(y, c, batch["qp"])
        mask_y, mask_c = batch["mask_y"].to(torch.float32), batch["mask_c"].to(torch.float32)

        def window_errors(out: Tensor, target: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
            """(N, planes) masked squared-error sums of each window and channel, and their sample counts."""
            return ((out - target).square() * mask).sum((2, 3)), mask.sum((2, 3)).expand(out.shape[:2])

        (sse_y, n_y), (sse_c, n_c) = window_errors(out_y, target_y, mask_y), window_errors(out_c, target_c, mask_c)
        (sse0_y, _), (sse0_c, _) = window_errors(y, target_y, mask_y), window_errors(c, target_c, mask_c)
        sse, sse0, counts = torch.cat([sse_y, sse_c], 1), torch.cat([sse0_y, sse0_c], 1), torch.cat([n_y, n_c], 1)
        per_plane = sse.sum(0) / counts.sum(0).clamp(min=1)
        before = sse0.sum(0) / counts.sum(0).clamp(min=1)
        if self.relative_loss:
            # The floor (a quarter of a squared sample) keeps near-lossless windows from dominating.
            floor = counts * RELATIVE_LOSS_FLOOR
            loss = 3 * (sse / (sse0 + floor).clamp(min=1e-12)).mean()
        else:
            loss = per_plane.sum()
        to_unit = (256 / 255) ** 2  # errors of (v - 128) / 256 on the [0, 1] scale of v / 255
        samples = torch.tensor([4.0, 1.0, 1.0], device=per_plane.device) / 6  # shares of a 4:2:0 picture
        return {"loss": loss, "mse": (per_plane * samples).sum().detach() * to_unit,
                "mse_unfiltered": (before * samples).sum() * to_unit,
                "mse_y": per_plane[0].detach() * to_unit, "mse_c": per_plane[1:].mean().detach() * to_unit}


#: Added to each window's unfiltered mean squared error in the relative loss: a quarter of a
#: squared sample on the network's (v - 128) / 256 scale.
RELATIVE_LOSS_FLOOR = 0.25 / 256 ** 2


def integer_program(model: LoopFilterNet) -> Program:
    """The calibrated (QAT) network as its exact integer program (:mod:`.integer`)."""
    return Program(model.luma.integer_layers(), model.chroma.integer_layers())


@register_model(MODEL_NAME)
def nnlf(luma_channels: int = 32, luma_layers: int = 4, chroma_channels: int = 32, chroma_layers: int = 4,
         qat: bool = False, chroma_guide: bool = True, luma_half_res: bool = True,
         relative_loss: bool = False, int8: bool = False) -> LoopFilterNet:
    """The neural loop filter network; ``qat=True`` for quantisation-aware fine-tuning,
    ``chroma_guide=False`` for a chroma branch that does not read the co-located luma,
    ``luma_half_res=False`` for a luma branch at full resolution, ``relative_loss=True`` to
    train on errors relative to the unfiltered ones, ``int8=True`` for the 8-bit integer
    program (with ``qat``; module docstring)."""
    return LoopFilterNet(luma_channels, luma_layers, chroma_channels, chroma_layers, qat, chroma_guide,
                         luma_half_res, relative_loss, int8)
