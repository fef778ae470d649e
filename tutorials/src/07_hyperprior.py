# %% [markdown] lang="en"
# # Chapter 7 — Hyperpriors and context models
#
# *[中文版](../zh/07_hyperprior.ipynb) · [all chapters](../README.md)*
#
# The factorized prior of chapter 6 gives every element of a latent channel the same
# density, wherever it sits in the picture. But a latent is large where the picture is busy
# and small where it is flat: a model that *knew* the local scale would code each element
# with a narrower, cheaper distribution. Two ways to let the decoder know it:
#
# * a **hyperprior** (Ballé et al., ICLR 2018) sends a little side information $z$ that
#   describes the scales, and predicts them from it;
# * a **context model** predicts them from the latents the decoder has *already* decoded —
#   for speed in two passes over a **checkerboard** (He et al., CVPR 2021).
#
# To see the ideas at work without a day of GPU training, we apply them to a latent we can
# compute exactly: the 8×8 DCT of chapter 2, with its 64 frequencies as channels. The
# entropy coding is the real one of the learned codecs (`GaussianConditional`, integer
# tables, ANS). Then we meet the learned models of `codeclab.learned` and, where this
# installation ships their weights, what they achieve.

# %% [markdown] lang="zh"
# # 第 7 章　超先验与上下文模型
#
# *[English](../en/07_hyperprior.ipynb) · [全部章节](../README.md)*
#
# 第 6 章的分解先验让一个隐变量通道中的每个元素都服从同一个分布，不管它位于图像的什么位置。但隐变量在图像繁忙处大、在平坦处小：
# 一个*知道*局部尺度的模型，可以用更窄、更省比特的分布来编码每个元素。让解码器知道尺度有两种办法：
#
# * **超先验**（Ballé 等，ICLR 2018）发送一点描述尺度的边信息 $z$，再由它预测尺度；
# * **上下文模型**根据解码器*已经*解出的隐变量来预测尺度——为了速度，在**棋盘格**上分两遍完成（He 等，CVPR 2021）。
#
# 为了不必先在 GPU 上训练一整天就能看到这些思想如何起作用，我们把它们用在一个可以精确计算的隐变量上：第 2 章的 8×8 DCT，
# 把它的 64 个频率当作通道。熵编码则是学习型编码器真正使用的那一套（`GaussianConditional`、整数表、ANS）。
# 然后我们认识 `codeclab.learned` 中的学习型模型，并在本机附带了权重的情况下，看看它们能达到什么水平。

# %%
from importlib.resources import files
from pathlib import Path
import json

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from codeclab import api
from codeclab.classic import transform_matrix
from codeclab.entropy import CdfTables, GaussianConditional, decode_symbols, encode_symbols, quantize_pmf
from codeclab.eval.bdrate import bd_rate
from codeclab.eval.metrics import bpp, psnr_rgb
from codeclab.io import read_image, rgb_to_ycbcr_int
from codeclab.learned import build_model
from codeclab.learned.models.checkerboard import anchor_mask
from codeclab.learned.weights import WEIGHTS_DIR, has_pretrained

SAMPLES = Path(str(files("codeclab") / "data" / "samples"))
T = transform_matrix(8).double()
T = T / T.norm(dim=1, keepdim=True)              # HEVC's integer DCT, normalised: orthonormal up to 0.1 %
STEP = 12.0                                      # quantisation step, in luma samples


def dct_latent(name: str) -> torch.Tensor:
    """The 8x8 DCT of a sample's luma divided by STEP: (64 frequency channels, 32, 32) float32."""
    luma = rgb_to_ycbcr_int(read_image(SAMPLES / f"{name}_crop256.png"), "bt709")[0].double() - 128
    coefficients = T @ luma.reshape(32, 8, 32, 8).permute(0, 2, 1, 3) @ T.T
    return (coefficients / STEP).reshape(32, 32, 64).permute(2, 0, 1).float()


training = [dct_latent(name) for name in ("kodim05", "kodim23")]
y = dct_latent("kodim15")                         # the picture we code
gaussian = GaussianConditional()                  # N(0, s^2) per element; tables on a log grid of scales

fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
axes[0].imshow(read_image(SAMPLES / "kodim15_crop256.png").permute(1, 2, 0))
axes[0].set_title("kodim15")
for ax, channel in zip(axes[1:], (1, 9)):
    ax.imshow(y[channel].abs(), cmap="magma")
    ax.set_title(f"|latent| of channel {channel} (one value per 8x8 block)")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# Each channel is large at edges and texture and nearly zero on the skin: its scale varies
# from block to block by an order of magnitude.
#
# ## 1. The factorized prior: one scale per channel
#
# As in chapter 6, every element of channel $k$ gets the density $\mathcal N(0, s_k^2)$,
# with $s_k$ learned on the two training pictures (here simply their RMS). The probability
# of the rounding bin, $P(\hat y) = \Phi\big(\frac{\hat y + 1/2}{s}\big) - \Phi\big(\frac{\hat y - 1/2}{s}\big)$,
# becomes an integer table per scale, and `compress` writes an ANS stream.

# %% [markdown] lang="zh"
# 每个通道在边缘和纹理处很大，在皮肤上几乎为零：它的尺度在块与块之间相差一个数量级。
#
# ## 1. 分解先验：每个通道一个尺度
#
# 与第 6 章一样，通道 $k$ 的每个元素都服从 $\mathcal N(0, s_k^2)$，$s_k$ 在两幅训练图上学出（这里就是它们的均方根）。取整区间的概率
# $P(\hat y) = \Phi\big(\frac{\hat y + 1/2}{s}\big) - \Phi\big(\frac{\hat y - 1/2}{s}\big)$
# 对每个尺度变成一张整数表，`compress` 写出一条 ANS 码流。

# %%
channel_scales = torch.cat([t.reshape(64, -1) for t in training], dim=1).square().mean(dim=1).sqrt()
factorized_scales = channel_scales[:, None, None].expand_as(y)
factorized = gaussian.compress(y, factorized_scales)
assert torch.equal(gaussian.decompress(factorized, factorized_scales), torch.round(y))
print(f"factorized prior: {len(factorized)} bytes = {bpp(len(factorized), 256, 256):.3f} bpp (luma only)")

# %% [markdown] lang="en"
# ## 2. A hyperprior: send the scales, coarsely
#
# The side information $z$ is one small integer per block: its **activity**, the RMS of its
# rounded AC coefficients in half-octave steps, $z = \mathrm{round}(2\log_2 \mathrm{rms})$.
# The decoder reads $z$ first and looks up the scale of every coefficient in a table
# $s(k, z)$ learned on the training pictures — our stand-in for the hyper-synthesis network
# $h_s$. $z$ itself is coded with a factorized table (chapter 3). The side information costs
# bytes, and buys narrower distributions for everything else:

# %% [markdown] lang="zh"
# ## 2. 超先验：粗略地把尺度发过去
#
# 边信息 $z$ 是每个块一个小整数：块的**活跃度**，即取整后交流（AC）系数的均方根，以半个倍频程为单位：$z = \mathrm{round}(2\log_2 \mathrm{rms})$。
# 解码器先读出 $z$，再在训练图上学到的表 $s(k, z)$ 中查出每个系数的尺度——它代替了超先验的合成网络 $h_s$。$z$ 本身用一张分解式的表编码（第 3 章）。
# 边信息要花字节，换来的是其余所有元素更窄的分布：

# %%
Z_MIN, Z_MAX = -4, 12


def activity(latent: torch.Tensor) -> torch.Tensor:
    """z of every block: round(2 log2 RMS of its rounded AC coefficients), clipped to Z_MIN..Z_MAX."""
    ac = torch.round(latent[1:]).square().mean(dim=0).sqrt()
    return torch.round(2 * torch.log2(ac + 0.25)).long().clamp(Z_MIN, Z_MAX)


def scale_table(latents, conditions) -> torch.Tensor:
    """(64, Z) RMS of each channel among the training blocks with each condition value;
    values never seen borrow the nearest seen one."""
    sums, counts = torch.zeros(64, Z_MAX - Z_MIN + 1), torch.zeros(Z_MAX - Z_MIN + 1)
    for latent, condition in zip(latents, conditions):
        index = (condition - Z_MIN).reshape(-1)
        sums.index_add_(1, index, latent.reshape(64, -1).square())
        counts.index_add_(0, index, torch.ones(index.numel()))
    seen = torch.nonzero(counts).reshape(-1)
    nearest = seen[(torch.arange(len(counts))[:, None] - seen[None]).abs().argmin(dim=1)]
    return (sums[:, nearest] / counts[nearest]).sqrt()


def z_tables(conditions) -> CdfTables:
    """One integer table for z, from its counts on the training pictures (+1: nothing impossible)."""
    counts = np.bincount(torch.cat([c.reshape(-1) for c in conditions]).numpy() - Z_MIN,
                         minlength=Z_MAX - Z_MIN + 1) + 1
    return CdfTables.from_list([quantize_pmf(np.append(counts, 1))], offsets=[Z_MIN])


hyper_table = scale_table(training, [activity(t) for t in training])       # our "h_s"
z_table = z_tables([activity(t) for t in training])

z = activity(y)
z_stream = encode_symbols(z.numpy(), np.zeros(z.shape, np.int64), z_table)
assert torch.equal(torch.from_numpy(decode_symbols(z_stream, np.zeros(z.shape, np.int64), z_table)).reshape(z.shape), z)
hyper_scales = hyper_table[:, z - Z_MIN]                                   # (64, 32, 32)
hyper_y = gaussian.compress(y, hyper_scales)
assert torch.equal(gaussian.decompress(hyper_y, hyper_scales), torch.round(y))
print(f"hyperprior: z {len(z_stream)} bytes + y {len(hyper_y)} bytes = {len(z_stream) + len(hyper_y)} bytes "
      f"({(len(z_stream) + len(hyper_y)) / len(factorized) * 100 - 100:+.1f} % against the factorized prior)")

# %% [markdown] lang="en"
# ## 3. A checkerboard context: predict the scales from decoded neighbours
#
# Split the blocks like a checkerboard (`anchor_mask`, the very function of the learned
# model). The **anchors** are decoded first, with the hyperprior. Every **non-anchor** has
# four anchor neighbours, already decoded, so the decoder can *compute* their mean activity
# and use it as the condition — no side information for non-anchors at all. Both halves are
# decoded in parallel within their pass, which is why the checkerboard replaced the slow
# raster-order context models (Minnen et al. 2018).

# %% [markdown] lang="zh"
# ## 3. 棋盘格上下文：由已解码的邻居预测尺度
#
# 像棋盘一样把块分成两半（`anchor_mask`，正是学习型模型里的那个函数）。**锚点**先解码，使用超先验。每个**非锚点**都有四个已经解码的锚点邻居，
# 所以解码器可以*算出*它们的平均活跃度，用作条件——非锚点完全不需要边信息。每一遍之内，同一半的块可以并行解码，
# 这正是棋盘格取代按光栅顺序逐个解码的慢速上下文模型（Minnen 等，2018）的原因。

# %%
anchors = anchor_mask(32, 32)


def neighbour_activity(latent: torch.Tensor) -> torch.Tensor:
    """Mean activity of the four anchor neighbours of every block (what a decoder knows after pass 1)."""
    known = torch.where(anchors, activity(latent).double(), torch.nan)
    padded = F.pad(known[None, None], (1, 1, 1, 1), value=float("nan"))[0, 0]
    around = torch.stack([padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]])
    return torch.round(torch.nanmean(around, dim=0)).long().clamp(Z_MIN, Z_MAX)


context_table = scale_table([t[:, ~anchors] for t in training], [neighbour_activity(t)[~anchors] for t in training])

z_anchor_stream = encode_symbols(z[anchors].numpy(), np.zeros(int(anchors.sum()), np.int64), z_table)
anchor_y = gaussian.compress(y[:, anchors], hyper_scales[:, anchors])                   # pass 1
context_scales = context_table[:, neighbour_activity(torch.round(y))[~anchors] - Z_MIN]   # from decoded anchors
non_anchor_y = gaussian.compress(y[:, ~anchors], context_scales)                        # pass 2
checkerboard = len(z_anchor_stream) + len(anchor_y) + len(non_anchor_y)
print(f"checkerboard: z of the anchors {len(z_anchor_stream)} + anchors {len(anchor_y)} + non-anchors "
      f"{len(non_anchor_y)} = {checkerboard} bytes ({checkerboard / len(factorized) * 100 - 100:+.1f} %)")

channel = 9
checkerboard_scales = hyper_scales[channel].clone()
checkerboard_scales[~anchors] = context_scales[channel]
predicted = {"factorized": factorized_scales[channel], "hyperprior": hyper_scales[channel],
             "checkerboard": checkerboard_scales}
fig, axes = plt.subplots(1, 5, figsize=(15, 3.2))
axes[0].imshow(anchors, cmap="gray")
axes[0].set_title("anchors (white)")
axes[1].imshow(y[channel].abs(), cmap="magma", vmin=0, vmax=float(y[channel].abs().max()) / 2)
axes[1].set_title(f"|y|, channel {channel}")
for ax, (name, scales) in zip(axes[2:], predicted.items()):
    ax.imshow(scales, cmap="magma", vmin=0, vmax=float(y[channel].abs().max()) / 2)
    ax.set_title(f"scale: {name}")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# The hyperprior's scale map follows the picture; the checkerboard's is as sharp on the
# anchors and a little blurrier between them, for half the side information. The learned
# models combine both sources — the hyperprior for every element *and* the anchors' context
# for the non-anchors — and learn the functions instead of looking them up in a table made
# from two pictures, which is where their larger savings come from.
#
# ## 4. The learned models
#
# `codeclab.learned` holds the four architectures of this family, built by name. Their
# transforms are chapter 6's at full size (128 and 192 channels, four layers each way, gain
# units for a continuous range of rates); the hyperprior adds $h_a$ and $h_s$; the mean-scale
# model predicts a mean as well as a scale; the checkerboard model adds the context
# convolution over the anchors. An untrained forward pass shows the shapes:

# %% [markdown] lang="zh"
# 超先验的尺度图跟着图像走；棋盘格的尺度图在锚点上同样清晰，在锚点之间稍模糊一点，而边信息只要一半。学习型模型把两种信息源结合起来——
# 对每个元素用超先验，*同时*对非锚点用锚点的上下文——并且学出这些函数，而不是在由两幅图做出的表里查找，它们更大的节省正来源于此。
#
# ## 4. 学习型模型
#
# `codeclab.learned` 中有这一家族的四种结构，可以按名字构建。它们的变换就是第 6 章那种变换的完整版（128 和 192 个通道，每侧四层，
# 用增益单元实现连续可调的码率）；超先验模型加上 $h_a$ 和 $h_s$；均值-尺度模型除了尺度还预测均值；棋盘格模型再加上作用于锚点的上下文卷积。
# 一次未训练的前向计算可以显示各部分的形状：

# %%
x = read_image(SAMPLES / "kodim15_crop256.png")[None].float() / 255
for name in ("factorized", "hyperprior", "mean-scale", "checkerboard"):
    model = build_model(name).eval()
    with torch.no_grad():
        out = model(x, lmbda=0.013)
    shapes = ", ".join(f"{key} {tuple(value.shape[1:])}" for key, value in out["likelihoods"].items())
    print(f"{name:13} {sum(p.numel() for p in model.parameters()) / 1e6:5.2f} M parameters; latents: {shapes}")

# %% [markdown] lang="en"
# ## 5. The shipped weights
#
# Trained weights live in `codeclab/data/weights/` as a `.safetensors` file (tensors only,
# no code) beside a JSON **model card**: how they were trained — data, steps, hardware, time
# — and what they score. With weights present, the models are ordinary codecs
# (`api.encode_image(image, "checkerboard", quality)`, quality 1–8). Here is what each shipped
# model reports, and what it does on the sample pictures next to JPEG:

# %% [markdown] lang="zh"
# ## 5. 随包附带的权重
#
# 训练好的权重放在 `codeclab/data/weights/` 中：一个 `.safetensors` 文件（只有张量，没有代码），旁边是一份 JSON 格式的**模型卡**：
# 它们是怎样训练出来的——数据、步数、硬件、时长——以及得分如何。有了权重，这些模型就是普通的编码器
# （`api.encode_image(image, "checkerboard", quality)`，质量取 1–8）。下面是每个随包模型的自述，以及它在示例图上与 JPEG 的对比：

# %%
def reported_curves(card: dict, prefix: str = "") -> dict:
    """Every CompressAI-style result (a dict with 'bpp' and 'psnr-rgb' lists) found in a model card."""
    found = {}
    for key, value in card.items():
        if isinstance(value, dict):
            if isinstance(value.get("bpp"), list) and isinstance(value.get("psnr-rgb"), list):
                found[prefix + key] = value
            else:
                found.update(reported_curves(value, f"{prefix}{key}/"))
    return found


pictures = [read_image(SAMPLES / f"{name}_crop256.png") for name in ("kodim05", "kodim15", "kodim23")]


def sample_curve(codec: str, qualities) -> dict:
    """Mean bpp and PSNR-RGB of real files over the sample pictures, per quality."""
    points = [[api.encode_image(p, codec, q) for p in pictures] for q in qualities]
    return {"bpp": [np.mean([bpp(len(r.data), 256, 256) for r in row]) for row in points],
            "psnr-rgb": [np.mean([psnr_rgb(p, r.recon) for p, r in zip(pictures, row)]) for row in points]}


shipped = [name for name in ("factorized", "hyperprior", "mean-scale", "checkerboard") if has_pretrained(name)]
if shipped:
    jpeg = sample_curve("jpeg", (10, 20, 30, 50, 75, 90))
    for name in shipped:
        card = json.loads((WEIGHTS_DIR / f"{name}.json").read_text())
        print(f"{name}: {card.get('steps', '?')} steps on {card.get('data', {}).get('train_pictures', '?')} pictures, "
              f"{card.get('hardware', '?')}, {card.get('wall_seconds', 0) / 3600:.1f} h")
        for label, curve in reported_curves(card).items():
            print(f"    reported {label}: bpp {np.round(curve['bpp'], 3).tolist()}, "
                  f"PSNR {np.round(curve['psnr-rgb'], 2).tolist()}")
        learned = sample_curve(name, (2, 4, 6, 8))
        gain = bd_rate(jpeg["bpp"], jpeg["psnr-rgb"], learned["bpp"], learned["psnr-rgb"])
        print(f"    on the samples: BD-rate against JPEG {gain:+.1f} %")
else:
    print(f"no learned weights are shipped in this installation ({WEIGHTS_DIR} has none yet).\n"
          f"Train them with, e.g.: codeclab train --model checkerboard --data YOUR/PHOTOS --out runs/cb "
          f"--lambda-range 0.0018 0.18 --steps 200000, then place the exported .safetensors and .json there.")

# %% [markdown] lang="en"
# ## Exercises
#
# 1. **The price of side information.** In section 2, what fraction of the hyperprior's
#    total bytes is $z$? A number between 0 and 1 → `side_information_share`
# 2. **Halving the scale.** For a Gaussian latent of large scale $s$, rounded to integers, the
#    cost per element is about $\log_2(s\sqrt{2\pi e})$ bits when the model knows $s$. A flat
#    region's latents have half the scale of a busy region's. How many fewer bits per element
#    do they cost? → `bits_saved_by_halving`
# 3. **Anchors.** How many anchors does a 48×40 latent have? → `anchors_48x40`

# %% [markdown] lang="zh"
# ## 练习
#
# 1. **边信息的代价。** 第 2 节中，$z$ 占超先验总字节数的多大比例？填一个 0 到 1 之间的数 → `side_information_share`
# 2. **尺度减半。** 对尺度 $s$ 很大、取整为整数的高斯隐变量，当模型知道 $s$ 时，每个元素的代价约为 $\log_2(s\sqrt{2\pi e})$ 比特。
#    平坦区域隐变量的尺度是繁忙区域的一半，它们每个元素少花多少比特？→ `bits_saved_by_halving`
# 3. **锚点。** 一个 48×40 的隐变量有多少个锚点？→ `anchors_48x40`

# %%
side_information_share = None   # a number in [0, 1]
bits_saved_by_halving = None    # a number
anchors_48x40 = None            # an integer

# %% tags=["solution"]
side_information_share = len(z_stream) / (len(z_stream) + len(hyper_y))
bits_saved_by_halving = 1.0
anchors_48x40 = 48 * 40 // 2

# %%
def grade(name, answer, is_right):
    """Print ✓ for a right answer, · for a missing one; a wrong one raises AssertionError."""
    if answer is None:
        print(f"·  {name}: not answered yet")
        return
    assert is_right(answer), f"{name}: not right yet — see the hint in the exercise"
    print(f"✓  {name}")


def halving_right(bits):
    busy = torch.randn(200_000) * 64                           # scale 64; the flat region: scale 32
    busy_bits = gaussian.ideal_bits(busy, torch.full_like(busy, 64.0))
    flat_bits = gaussian.ideal_bits(busy / 2, torch.full_like(busy, 32.0))
    return abs(bits - (busy_bits - flat_bits) / busy.numel()) < 0.05


grade("side_information_share", side_information_share,
      lambda f: abs(f - len(z_stream) / (len(z_stream) + len(hyper_y))) < 0.005)
grade("bits_saved_by_halving", bits_saved_by_halving, halving_right)
grade("anchors_48x40", anchors_48x40, lambda n: n == int(anchor_mask(48, 40).sum()))
