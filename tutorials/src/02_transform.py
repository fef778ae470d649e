# %% [markdown] lang="en"
# # Chapter 2 — Transform coding
#
# *[中文版](../zh/02_transform.ipynb) · [all chapters](../README.md)*
#
# Neighbouring samples of a picture are alike. A **transform** turns a block of such samples
# into a few large coefficients and many small ones; **quantisation** then throws away
# precision where it is cheapest — most small coefficients become zero — and an entropy coder
# packs what is left. This is how JPEG works, and still the core of HEVC and VVC.
#
# We use the integer DCT and the quantiser of HEVC from `codeclab.classic`, the very
# functions the classic codec runs, and build a JPEG-like codec in a few dozen lines whose
# rate-distortion curve we put next to real JPEG.

# %% [markdown] lang="zh"
# # 第 2 章　变换编码
#
# *[English](../en/02_transform.ipynb) · [全部章节](../README.md)*
#
# 图像中相邻的样本彼此相似。**变换**把一块这样的样本变成少数几个大系数和许多小系数；接着
# **量化**在代价最小的地方舍弃精度——大多数小系数变成零——最后由熵编码器把剩下的打包。
# JPEG 就是这样工作的，这也仍然是 HEVC 和 VVC 的核心。
#
# 我们使用 `codeclab.classic` 中 HEVC 的整数 DCT 和量化器——正是经典编码器实际运行的那些函数——
# 用几十行代码搭一个类 JPEG 编码器，并把它的率失真曲线和真正的 JPEG 画在一起。

# %%
from importlib.resources import files
from pathlib import Path
import lzma
import struct

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Image

from codeclab import api
from codeclab.classic import (
    chroma_qp, dequantize, forward_transform, inverse_transform, quantize, transform_matrix,
)
from codeclab.eval.bdrate import bd_rate
from codeclab.eval.metrics import bpp, psnr, psnr_rgb
from codeclab.eval.plots import plot_rd
from codeclab.io import (crop, downsample_chroma, pad_to_multiple, read_image, rgb_to_ycbcr_int,
                         upsample_chroma, ycbcr_to_rgb_int)

SAMPLES = Path(str(files("codeclab") / "data" / "samples"))
OUT = Path("output")                 # what this chapter writes goes here (git ignores it)
OUT.mkdir(exist_ok=True)
pictures = {name: read_image(SAMPLES / f"{name}_crop256.png") for name in ("kodim05", "kodim15", "kodim23")}
luma = rgb_to_ycbcr_int(pictures["kodim05"], "bt601", full_range=True)[0]   # (256, 256) uint8

# %% [markdown] lang="en"
# ## 1. The DCT and its basis pictures
#
# The 2-D DCT of an $N\times N$ block $X$ is $C = T X T^\top$, where the rows of $T$ are
# sampled cosines of increasing frequency,
# $T_{k,j} \propto \cos\!\big(\pi (2j+1) k / 2N\big)$. HEVC fixes an integer approximation of
# $T$ (H.265 §8.6.4.2) — row 0 is all 64 — so every decoder computes the same residual bit
# for bit. Each coefficient $C_{u,v}$ weighs one *basis picture*, the outer product of rows
# $u$ and $v$: a block is a weighted sum of these 64 patterns.

# %% [markdown] lang="zh"
# ## 1. DCT 及其基图像
#
# $N\times N$ 块 $X$ 的二维 DCT 是 $C = T X T^\top$，$T$ 的各行是频率递增的余弦采样，
# $T_{k,j} \propto \cos\!\big(\pi (2j+1) k / 2N\big)$。HEVC 规定了 $T$ 的一个整数近似
# （H.265 §8.6.4.2）——第 0 行全是 64——这样所有解码器算出的残差逐比特相同。每个系数 $C_{u,v}$
# 是一幅*基图像*的权重，基图像是第 $u$ 行与第 $v$ 行的外积：任何一个块都是这 64 个图案的加权和。

# %%
T = transform_matrix(8).float()                  # (8, 8) int32 -> float, rows = basis functions
print("row 0:", T[0].int().tolist())
gram = T @ T.T
print(f"T T^t is diagonal up to {float((gram - torch.diag(gram.diagonal())).abs().max()):.0f} "
      f"against a diagonal of about 64^2 * 8 = {64 ** 2 * 8}: orthogonal to a fraction of a percent")

basis = torch.einsum("ui,vj->uvij", T, T)        # basis[u, v] = outer product of rows u and v
fig, axes = plt.subplots(8, 8, figsize=(6, 6))
for (u, v), ax in np.ndenumerate(axes):
    ax.imshow(basis[u, v], cmap="gray")
    ax.axis("off")
fig.suptitle("8x8 DCT basis pictures (u down, v across)")
plt.show()

# %% [markdown] lang="en"
# ## 2. Energy compaction
#
# Cut the luma into 8×8 blocks, subtract 128, transform every block at once
# (`forward_transform` takes a batch `(..., 8, 8)`) and look at the mean squared coefficient
# at each frequency. The energy piles up in the top-left corner, the low frequencies: a few
# coefficients carry most of the picture.

# %% [markdown] lang="zh"
# ## 2. 能量集中
#
# 把亮度切成 8×8 的块，减去 128，一次变换所有的块（`forward_transform` 接受形状为 `(..., 8, 8)`
# 的一批块），再看每个频率位置上系数平方的均值。能量堆积在左上角，即低频处：少数几个系数承载了图像的大部分。

# %%
BLOCK = 8


def to_blocks(plane: torch.Tensor) -> torch.Tensor:
    """(H, W) -> (H/8, W/8, 8, 8) blocks, padding the edges by replication first."""
    padded = pad_to_multiple(plane, BLOCK)
    h, w = padded.shape
    return padded.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).permute(0, 2, 1, 3)


def from_blocks(blocks: torch.Tensor) -> torch.Tensor:
    """Inverse of to_blocks (without the crop)."""
    rows, cols = blocks.shape[:2]
    return blocks.permute(0, 2, 1, 3).reshape(rows * BLOCK, cols * BLOCK)


coefficients = forward_transform(to_blocks(luma).int() - 128)        # int32 (32, 32, 8, 8)
energy = coefficients.double().square().mean(dim=(0, 1))             # (8, 8)
samples_energy = (to_blocks(luma).double() - 128).square().mean(dim=(0, 1))
in_order = energy.reshape(-1).sort(descending=True).values.cumsum(0) / energy.sum()
samples_in_order = samples_energy.reshape(-1).sort(descending=True).values.cumsum(0) / samples_energy.sum()
print(f"the 6 strongest of 64 coefficients hold {in_order[5] * 100:.1f} % of the energy; "
      f"the 6 strongest sample positions hold {samples_in_order[5] * 100:.1f} %")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
im = axes[0].imshow(torch.log10(energy), cmap="viridis")
axes[0].set_title("log10 mean squared coefficient")
axes[0].set_xlabel("v (horizontal frequency)")
axes[0].set_ylabel("u (vertical frequency)")
fig.colorbar(im, ax=axes[0])
axes[1].plot(range(1, 65), in_order * 100, marker=".")
axes[1].set_xlabel("strongest coefficients kept")
axes[1].set_ylabel("share of the energy [%]")
axes[1].grid(alpha=0.4)
plt.show()

# %% [markdown] lang="en"
# ## 3. Quantisation
#
# HEVC quantises with a step that doubles every 6 QP, $\Delta \approx 2^{(QP-4)/6}$, and a
# **dead zone**: the rounding offset is 1/3 of a step instead of 1/2 for intra
# (`codeclab.classic.common.reference.quant`), so a coefficient needs about 2/3 of a step to survive. Small,
# noisy coefficients become zero — they are the expensive ones to send and the cheap ones to
# lose. Below: the staircase on a ramp of coefficient values, then QP against quality.

# %% [markdown] lang="zh"
# ## 3. 量化
#
# HEVC 的量化步长每 6 个 QP 翻一倍，$\Delta \approx 2^{(QP-4)/6}$，并带有**死区**：帧内的舍入偏移是
# 1/3 个步长而不是 1/2（见 `codeclab.classic.common.reference.quant`），所以系数要达到约 2/3 个步长才能保留下来。
# 小而带噪的系数被置零——发送它们代价高，丢掉它们损失小。下图先在一段斜坡形的系数值上画出量化台阶，
# 再看 QP 与质量的关系。

# %%
ramp = torch.arange(-600, 601).reshape(-1, 1, 1)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for rounding, label in ((256, "round to nearest (1/2)"), (171, "HEVC intra dead zone (1/3)")):
    levels = quantize(ramp, 32, log2n=3, rounding=rounding)
    axes[0].plot(ramp.reshape(-1), dequantize(levels, 32, log2n=3).reshape(-1), label=label)
axes[0].plot(ramp.reshape(-1), ramp.reshape(-1), color="gray", linewidth=0.5)
axes[0].set_xlabel("coefficient")
axes[0].set_ylabel("reconstructed coefficient (QP 32)")
axes[0].legend()

qps = list(range(12, 48, 5))
for qp in qps:
    levels = quantize(coefficients, qp, log2n=3)
    decoded = (inverse_transform(dequantize(levels, qp, log2n=3)) + 128).clamp(0, 255)
    point = (float((levels == 0).float().mean()) * 100, psnr(luma, from_blocks(decoded)))
    axes[1].scatter(*point, color="C0")
    axes[1].annotate(f"QP {qp}", point, textcoords="offset points", xytext=(4, 4), fontsize=8)
axes[1].set_xlabel("coefficients quantised to zero [%]")
axes[1].set_ylabel("luma PSNR [dB]")
axes[1].grid(alpha=0.4)
plt.show()

# %% [markdown] lang="en"
# ## 4. A JPEG-like codec in a few dozen lines
#
# Everything is in place: Y'CbCr (BT.601, full range, as JFIF), 4:2:0, 8×8 DCT, uniform
# quantisation at one QP (HEVC's milder chroma QP for Cb and Cr). For the lossless stage we
# borrow a general-purpose compressor, LZMA, and help it the way JPEG helps its Huffman
# coder: coefficients are written **frequency by frequency** (all DCs, then every block's
# next coefficient along the diagonals, ...), so the long runs of zeros at high
# frequencies sit together, and the DCs are sent as differences from the previous block's.
# The file is a 5-byte header plus the LZMA stream: **a real file, a real size**.

# %% [markdown] lang="zh"
# ## 4. 几十行代码的类 JPEG 编码器
#
# 零件都已齐备：Y'CbCr（BT.601 全范围，与 JFIF 相同）、4:2:0、8×8 DCT、单一 QP 的均匀量化
# （Cb 和 Cr 用 HEVC 较温和的色度 QP）。无损那一级，我们借用一个通用压缩器 LZMA，并像 JPEG
# 帮助它的 Huffman 编码器那样帮它一把：系数**按频率逐个**写出（先是全部的 DC，再沿对角线依次是每一块的下一个系数……），
# 使高频处的长串零聚在一起；DC 则写成与前一块 DC 的差值。文件由 5 字节的头加上 LZMA 码流组成：
# **真实的文件，真实的大小**。

# %%
u, v = torch.meshgrid(torch.arange(BLOCK), torch.arange(BLOCK), indexing="ij")
DIAGONAL_ORDER = torch.argsort(((u + v) * BLOCK + u).reshape(-1))   # low frequencies first
LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]


def toy_encode(image: torch.Tensor, qp: int) -> bytes:
    """(3, H, W) uint8 RGB -> bytes: header (H, W, QP), then LZMA of the quantised coefficients."""
    ycbcr = rgb_to_ycbcr_int(image, "bt601", full_range=True)
    planes = [ycbcr[0], downsample_chroma(ycbcr[1]), downsample_chroma(ycbcr[2])]
    streams = []
    for plane, plane_qp in zip(planes, (qp, chroma_qp(qp), chroma_qp(qp))):
        levels = quantize(forward_transform(to_blocks(plane).int() - 128), plane_qp, log2n=3)
        by_frequency = levels.reshape(-1, BLOCK * BLOCK)[:, DIAGONAL_ORDER].T.contiguous()
        by_frequency[0] = torch.diff(by_frequency[0], prepend=torch.zeros(1, dtype=torch.int32))  # DC: DPCM
        streams.append(by_frequency.reshape(-1))
    symbols = torch.cat(streams).to(torch.int16).numpy().tobytes()
    header = struct.pack(">HHB", image.shape[1], image.shape[2], qp)
    return header + lzma.compress(symbols, format=lzma.FORMAT_RAW, filters=LZMA_FILTERS)


def toy_decode(data: bytes) -> torch.Tensor:
    """The inverse, step by step in reverse order."""
    height, width, qp = struct.unpack(">HHB", data[:5])
    raw = lzma.decompress(data[5:], format=lzma.FORMAT_RAW, filters=LZMA_FILTERS)
    symbols = torch.from_numpy(np.frombuffer(raw, dtype=np.int16).astype(np.int32))
    sizes = [(height, width)] + 2 * [((height + 1) // 2, (width + 1) // 2)]
    planes, at = [], 0
    for (h, w), plane_qp in zip(sizes, (qp, chroma_qp(qp), chroma_qp(qp))):
        rows, cols = -(-h // BLOCK), -(-w // BLOCK)
        by_frequency = symbols[at:at + rows * cols * BLOCK * BLOCK].reshape(BLOCK * BLOCK, -1).clone()
        at += by_frequency.numel()
        by_frequency[0] = torch.cumsum(by_frequency[0], 0)
        levels = torch.empty(rows * cols, BLOCK * BLOCK, dtype=torch.int32)
        levels[:, DIAGONAL_ORDER] = by_frequency.T
        residual = inverse_transform(dequantize(levels.reshape(rows, cols, BLOCK, BLOCK), plane_qp, log2n=3))
        planes.append(crop(from_blocks((residual + 128).clamp(0, 255)), h, w).to(torch.uint8))
    y, cb, cr = planes
    ycbcr = torch.stack([y, upsample_chroma(cb, height, width), upsample_chroma(cr, height, width)])
    return ycbcr_to_rgb_int(ycbcr, "bt601", full_range=True)


image = pictures["kodim23"]
data = toy_encode(image, 32)
print(f"toy codec at QP 32: {len(data)} bytes = {bpp(len(data), 256, 256):.3f} bpp, "
      f"PSNR-RGB {psnr_rgb(image, toy_decode(data)):.2f} dB")

# %% [markdown] lang="en"
# ## 5. Its RD curve next to real JPEG
#
# Each codec is run at several settings on the three sample pictures; a point of the curve is
# the mean bpp and mean PSNR over the pictures (CompressAI's convention). JPEG's rate is the
# size of the `.clb` file the library's JPEG anchor writes — the JPEG file Pillow produced
# (with its ~600 bytes of quantisation and Huffman tables) plus 51 bytes of container.
# `plot_rd` draws the curves; `bd_rate` gives the mean rate difference at equal PSNR
# (chapter 9 explains how it is computed, and its pitfalls).

# %% [markdown] lang="zh"
# ## 5. 它与真正 JPEG 的率失真曲线
#
# 每个编码器在三幅示例图上以若干设置运行；曲线上的一个点是这几幅图的平均 bpp 和平均 PSNR
# （CompressAI 的约定）。JPEG 的码率是库中 JPEG 锚点写出的 `.clb` 文件大小——即 Pillow 生成的 JPEG 文件
# （其中包含约 600 字节的量化表和 Huffman 表）再加 51 字节的容器。`plot_rd` 画出曲线；`bd_rate`
# 给出相同 PSNR 下码率的平均差异（第 9 章讲它的算法和陷阱）。

# %%
def rd_points(encode_decode, settings):
    """Mean bpp and PSNR-RGB over the sample pictures at each setting."""
    curve = {"bpp": [], "psnr-rgb": []}
    for setting in settings:
        rates, qualities = [], []
        for picture in pictures.values():
            size, decoded = encode_decode(picture, setting)
            rates.append(bpp(size, picture.shape[2], picture.shape[1]))
            qualities.append(psnr_rgb(picture, decoded))
        curve["bpp"].append(float(np.mean(rates)))
        curve["psnr-rgb"].append(float(np.mean(qualities)))
    return curve


def toy(picture, qp):
    data = toy_encode(picture, qp)
    return len(data), toy_decode(data)


def jpeg(picture, quality):
    result = api.encode_image(picture, "jpeg", quality)
    return len(result.data), api.decode(result.data)


curves = {"toy (DCT + LZMA)": rd_points(toy, (22, 27, 32, 37, 42)),
          "jpeg": rd_points(jpeg, (10, 20, 30, 50, 75, 90))}
plot_rd(curves, OUT / "rd_toy_vs_jpeg.png", title="three 256x256 Kodak crops", y_keys=("psnr-rgb",))
reference, test = curves["jpeg"], curves["toy (DCT + LZMA)"]
print(f"BD-rate of the toy against JPEG: "
      f"{bd_rate(reference['bpp'], reference['psnr-rgb'], test['bpp'], test['psnr-rgb']):+.1f} %")
Image(filename=str(OUT / "rd_toy_vs_jpeg.png"))

# %% [markdown] lang="en"
# A transform, a flat quantiser and a general-purpose compressor land close to JPEG — the
# transform and the quantiser do most of the work. JPEG's remaining edge comes from entropy
# coding designed for coefficients (run-length + Huffman) and from its quantisation tables;
# our toy's from LZMA finding repeats across the whole picture. Chapter 3 replaces LZMA by
# real entropy coders, and chapter 4 adds what HEVC adds: prediction before the transform.
#
# ## Exercises
#
# 1. **Zeros.** What fraction of the luma coefficients of kodim05 (the `coefficients` of
#    section 2) does `quantize` set to zero at QP 37? A number between 0 and 1 →
#    `zero_fraction_qp37`
# 2. **Steps.** By what factor does the quantisation step grow from QP 22 to QP 34? →
#    `step_ratio_22_to_34`
# 3. **Where the energy is.** Apart from DC, which frequency `(u, v)` of kodim05's 8×8
#    luma blocks has the largest mean squared coefficient? A tuple → `strongest_ac`

# %% [markdown] lang="zh"
# 一个变换、一个均匀量化器再加一个通用压缩器，就已经逼近 JPEG——大部分工作是变换和量化完成的。
# JPEG 剩下的优势来自专为系数设计的熵编码（游程 + Huffman）和它的量化表；我们的玩具编码器的优势则来自
# LZMA 在整幅图里寻找重复。第 3 章用真正的熵编码器取代 LZMA，第 4 章加上 HEVC 所加的东西：变换之前的预测。
#
# ## 练习
#
# 1. **零系数。** QP 37 时，`quantize` 把 kodim05 亮度系数（第 2 节的 `coefficients`）中多大比例置为零？
#    填一个 0 到 1 之间的数 → `zero_fraction_qp37`
# 2. **步长。** 从 QP 22 到 QP 34，量化步长增大到原来的几倍？→ `step_ratio_22_to_34`
# 3. **能量在哪里。** 除 DC 以外，kodim05 的 8×8 亮度块中哪个频率 `(u, v)` 的系数平方均值最大？
#    填一个二元组 → `strongest_ac`

# %%
zero_fraction_qp37 = None    # a number in [0, 1]
step_ratio_22_to_34 = None   # a number
strongest_ac = None          # a tuple (u, v)

# %% tags=["solution"]
zero_fraction_qp37 = float((quantize(coefficients, 37, log2n=3) == 0).float().mean())
step_ratio_22_to_34 = 2 ** ((34 - 22) / 6)
ac_energy = energy.clone()
ac_energy[0, 0] = 0
strongest_ac = tuple(int(i) for i in np.unravel_index(int(ac_energy.argmax()), (8, 8)))

# %%
def grade(name, answer, is_right):
    """Print ✓ for a right answer, · for a missing one; a wrong one raises AssertionError."""
    if answer is None:
        print(f"·  {name}: not answered yet")
        return
    assert is_right(answer), f"{name}: not right yet — see the hint in the exercise"
    print(f"✓  {name}")


def strongest_right(answer):
    u, v = answer
    return (u, v) != (0, 0) and energy[u, v] == energy.reshape(-1)[1:].max()


grade("zero_fraction_qp37", zero_fraction_qp37,
      lambda f: abs(f - float((quantize(coefficients, 37, log2n=3) == 0).float().mean())) < 0.005)
grade("step_ratio_22_to_34", step_ratio_22_to_34, lambda r: abs(r - 4) < 0.01)
grade("strongest_ac", strongest_ac, strongest_right)
