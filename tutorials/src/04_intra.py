# %% [markdown] lang="en"
# # Chapter 4 — Intra prediction and block partitioning with RDO
#
# *[中文版](../zh/04_intra.ipynb) · [all chapters](../README.md)*
#
# Chapter 2 transformed every block on its own. HEVC first **predicts** a block from the
# already decoded samples around it and transforms only what the prediction missed. And it
# does not use one block size: each 64×64 coding tree unit is split into a quadtree of
# coding units, each with its own prediction mode. Which split and which mode? The encoder
# tries the options and keeps the one with the smallest **rate-distortion cost**
# $J = D + \lambda R$.
#
# We use the normative tools of `codeclab.classic` (the 35 HEVC intra modes, the transform,
# the quantiser) and then look inside real bitstreams of the classic codec with
# `codeclab info --show`.

# %% [markdown] lang="zh"
# # 第 4 章　帧内预测与基于 RDO 的块划分
#
# *[English](../en/04_intra.ipynb) · [全部章节](../README.md)*
#
# 第 2 章对每个块单独做变换。HEVC 则先用块周围已经解码的样本**预测**这个块，只对预测没能覆盖的部分做变换。
# 而且它不只用一种块大小：每个 64×64 的编码树单元被划分成一棵编码单元的四叉树，每个编码单元有自己的预测模式。
# 怎样划分、用哪个模式？编码器逐一尝试各种选项，保留**率失真代价** $J = D + \lambda R$ 最小的那个。
#
# 我们使用 `codeclab.classic` 中的标准化工具（HEVC 的 35 种帧内模式、变换、量化器），
# 然后用 `codeclab info --show` 查看经典编码器真实码流的内部。

# %%
from importlib.resources import files
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from codeclab import api
from codeclab.classic import (
    NUM_MODES, dequantize, encode_residuals, forward_transform, inverse_transform, most_probable_modes,
    predict_all_modes, quantize, rd_lambda, reference_samples,
)
from codeclab.cli import main as codeclab
from codeclab.io import read_image, rgb_to_ycbcr_int

SAMPLES = Path(str(files("codeclab") / "data" / "samples"))
OUT = Path("output")                 # what this chapter writes goes here (git ignores it)
OUT.mkdir(exist_ok=True)
image = read_image(SAMPLES / "kodim23_crop256.png")
luma = rgb_to_ycbcr_int(image, "bt709", full_range=True)[0].int()     # (256, 256) int32
everything_decoded = torch.ones_like(luma, dtype=torch.bool)

# %% [markdown] lang="en"
# ## 1. Thirty-five ways to guess a block
#
# An $n\times n$ block is predicted from $4n+1$ reference samples: the column to its left
# (reaching below the block), the corner, and the row above (reaching past its right edge)
# — `reference_samples` gathers them (H.265 §8.4.4.2). **Planar** (mode 0) blends a
# horizontal and a vertical interpolation, **DC** (mode 1) fills the block with their mean,
# and the **33 angular modes** (2–34) copy the references along a direction, interpolated
# at 1/32 sample. Here are all 35 for one 16×16 block on the edge of the beak, scored by
# the sum of absolute differences (SAD). In this section the references are the original
# samples; inside the codec they are the *reconstructed* ones.

# %% [markdown] lang="zh"
# ## 1. 猜测一个块的三十五种方法
#
# $n\times n$ 的块由 $4n+1$ 个参考样本预测：左边的一列（向下延伸到块的下方）、左上角，以及上方的一行
# （向右延伸到块的右边之外）——`reference_samples` 负责收集它们（H.265 §8.4.4.2）。**Planar**（模式 0）
# 混合水平和垂直两个方向的插值，**DC**（模式 1）用参考样本的均值填满整块，**33 种角度模式**（2–34）
# 沿某个方向复制参考样本，并以 1/32 样本精度插值。下面是鹦鹉喙部边缘一个 16×16 块的全部 35 种预测，
# 以绝对误差和（SAD）打分。本节的参考样本取自原图；在编码器内部它们是*重建后*的样本。

# %%
x0, y0, n = 128, 80, 16
refs = reference_samples(luma, everything_decoded, x0, y0, n)          # (1, 4n+1)
predictions = predict_all_modes(refs, n)[0]                              # (35, 16, 16) int32
block = luma[y0:y0 + n, x0:x0 + n]
sad = (predictions - block).abs().sum(dim=(1, 2))
best = int(sad.argmin())

fig, axes = plt.subplots(4, 9, figsize=(13, 6))
axes = axes.reshape(-1)
axes[0].imshow(block, cmap="gray", vmin=0, vmax=255)
axes[0].set_title("block", fontsize=9, color="red")
for mode in range(NUM_MODES):
    axes[mode + 1].imshow(predictions[mode], cmap="gray", vmin=0, vmax=255)
    axes[mode + 1].set_title(f"{mode}: {int(sad[mode])}", fontsize=8, color="red" if mode == best else "black")
for ax in axes:
    ax.axis("off")
fig.suptitle("mode: SAD  (planar 0, DC 1, angular 2..34; best in red)")
plt.show()

# %% [markdown] lang="en"
# ## 2. What prediction buys
#
# Now every 8×8 block of the picture at once: `reference_samples` and `predict_all_modes`
# take tensors of block positions, so 1024 blocks × 35 modes are one batched computation. We
# keep each block's best mode and compare, at QP 32, the levels left to code when the
# transform sees the raw block (minus 128, as in chapter 2) or the prediction residual.

# %% [markdown] lang="zh"
# ## 2. 预测带来了什么
#
# 现在一次处理整幅图的所有 8×8 块：`reference_samples` 和 `predict_all_modes` 接受块位置组成的张量，
# 所以 1024 个块 × 35 种模式是一次批量计算。我们为每个块保留最好的模式，并在 QP 32 下比较两种情况剩下要编码的电平：
# 变换直接作用在原始块上（像第 2 章那样减去 128），或者作用在预测残差上。

# %%
def best_predictions(plane: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every n x n block of ``plane``, its best mode by SAD, and that mode's prediction (open loop)."""
    rows, cols = plane.shape[0] // n, plane.shape[1] // n
    ys, xs = torch.meshgrid(torch.arange(rows) * n, torch.arange(cols) * n, indexing="ij")
    refs = reference_samples(plane, torch.ones_like(plane, dtype=torch.bool), xs.reshape(-1), ys.reshape(-1), n)
    all_modes = predict_all_modes(refs, n)                                        # (N, 35, n, n)
    blocks = plane.reshape(rows, n, cols, n).permute(0, 2, 1, 3).reshape(-1, n, n)
    modes = (all_modes - blocks[:, None]).abs().sum(dim=(2, 3)).argmin(dim=1)
    return blocks, modes, all_modes[torch.arange(len(modes)), modes]


blocks, modes, prediction = best_predictions(luma, 8)
for name, signal in (("no prediction", blocks - 128), ("intra prediction", blocks - prediction)):
    levels = quantize(forward_transform(signal), 32, log2n=3)
    print(f"{name:17} residual energy {float(signal.double().square().mean()):8.1f}   "
          f"non-zero levels {int((levels != 0).sum()):6d}   coded size {len(encode_residuals(levels.numpy()))} bytes")

fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
axes[0].imshow(image.permute(1, 2, 0))
axes[0].set_title("picture")
mode_map = axes[1].imshow(modes.reshape(32, 32), cmap="twilight", vmin=0, vmax=34, interpolation="nearest")
axes[1].set_title("best intra mode of each 8x8 block")
fig.colorbar(mode_map, ax=axes[1])
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# ## 3. Rate-distortion optimisation: one decision by hand
#
# Should a 16×16 block be coded as one unit, or split into four 8×8 units, each with its own
# mode? Splitting predicts better but sends four modes and four residuals. The encoder
# compares the Lagrangian costs
#
# $$J = D + \lambda R, \qquad \lambda = 0.57 \cdot 2^{(QP - 12)/3}$$
#
# with $D$ the sum of squared errors after reconstruction and $R$ the bits (HM's choice of
# $\lambda$, `rd_lambda`). Below, $R$ is the exact adaptive cost of each block's levels
# under HEVC's residual coding (`encode_residuals(..., stats=...)`) plus 5 bits per mode —
# a simplification of what the real encoder counts. A large $\lambda$ (high QP) makes bits
# expensive, and fewer blocks are split.

# %% [markdown] lang="zh"
# ## 3. 率失真优化：手工做一次决策
#
# 一个 16×16 的块，应该作为一个单元编码，还是分成四个各有自己模式的 8×8 单元？划分后预测更准，但要发送四个模式和四份残差。
# 编码器比较拉格朗日代价
#
# $$J = D + \lambda R, \qquad \lambda = 0.57 \cdot 2^{(QP - 12)/3}$$
#
# 其中 $D$ 是重建后的误差平方和，$R$ 是比特数（$\lambda$ 取 HM 的公式，即 `rd_lambda`）。下面的 $R$ 取每个块的电平在
# HEVC 残差编码下的精确自适应代价（`encode_residuals(..., stats=...)`），再加上每个模式 5 比特——这是对真实编码器计数方式的简化。
# $\lambda$ 大（QP 高）时比特昂贵，被划分的块就少。

# %%
MODE_BITS = 5.0


def block_costs(plane: torch.Tensor, n: int, qp: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(SSE, bits) of coding every n x n block with its best mode at ``qp`` (open loop)."""
    blocks, _, prediction = best_predictions(plane, n)
    log2n = n.bit_length() - 1
    levels = quantize(forward_transform(blocks - prediction), qp, log2n=log2n)
    recon = (prediction + inverse_transform(dequantize(levels, qp, log2n=log2n))).clamp(0, 255)
    sse = (blocks - recon).double().square().sum(dim=(1, 2))
    bits = []
    for block_levels in levels.numpy():
        stats = np.zeros(3)
        encode_residuals(block_levels[None], stats=stats)
        bits.append(stats[0] + MODE_BITS)
    return sse, torch.tensor(bits)


def split_decisions(qp: int) -> torch.Tensor:
    """(16, 16) map: True where four 8x8 units cost less than one 16x16 unit."""
    lam = rd_lambda(qp)
    sse16, bits16 = block_costs(luma, 16, qp)
    sse8, bits8 = block_costs(luma, 8, qp)
    # Group the 8x8 costs by their 16x16 parent (4 children each).
    j8 = (sse8 + lam * bits8).reshape(16, 2, 16, 2).sum(dim=(1, 3)).reshape(-1)
    j16 = sse16 + lam * bits16
    return (j8 < j16).reshape(16, 16)


fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
for ax, qp in zip(axes, (22, 37)):
    split = split_decisions(qp)
    ax.imshow(image.permute(1, 2, 0))
    shade = split.repeat_interleave(16, 0).repeat_interleave(16, 1).numpy()
    ax.imshow(np.ma.masked_where(~shade, shade), cmap="autumn", alpha=0.45)   # split blocks only
    ax.set_title(f"QP {qp} (lambda {rd_lambda(qp):.0f}): {int(split.sum())} of 256 split")
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# ## 4. Inside real bitstreams: `codeclab info --show`
#
# The classic codec makes these decisions for real: a full quadtree from 64×64 down to 8×8
# (and four 4×4 units inside an 8×8), 35 modes per unit with most-probable-mode coding, RDO
# with the actual context states, every candidate reconstructed by the decoder's own
# functions. `codeclab info FILE.clb --show partition,modes,bits -o PICTURE.png` decodes a
# file and draws its coding units (white), the 4×4 units (yellow), each unit's intra
# direction (cyan lines; magenta dot = DC, green circle = planar) and the bits of each CTU
# (red heat map, numbers in the corner). We call the command line from Python.

# %% [markdown] lang="zh"
# ## 4. 真实码流的内部：`codeclab info --show`
#
# 经典编码器真的在做这些决策：从 64×64 一直到 8×8 的完整四叉树（8×8 内还可以分成四个 4×4 单元），每个单元 35 种模式并带最可能模式
# （MPM）编码，用实际的上下文状态做 RDO，每个候选都用解码器自己的函数重建。
# `codeclab info FILE.clb --show partition,modes,bits -o PICTURE.png` 解码一个文件，并画出它的编码单元（白色）、4×4 单元（黄色）、
# 每个单元的帧内方向（青色线段；品红色圆点 = DC，绿色圆圈 = planar），以及每个 CTU 花费的比特（红色热图，数字标在角上）。
# 我们在 Python 里调用这个命令行。

# %%
for qp in (22, 37):
    result = api.encode_image(image, "classic", qp)
    (OUT / f"parrot_qp{qp}.clb").write_bytes(result.data)
    codeclab(["info", str(OUT / f"parrot_qp{qp}.clb"), "--show", "partition,modes,bits",
              "-o", str(OUT / f"parrot_qp{qp}.png"), "--force"])

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 6))
for ax, qp in zip(axes, (22, 37)):
    ax.imshow(plt.imread(OUT / f"parrot_qp{qp}.png"))
    ax.set_title(f"QP {qp}: {(OUT / f'parrot_qp{qp}.clb').stat().st_size} bytes")
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# At QP 22 bits are cheap: the encoder spends them on small units along every edge of the
# feathers. At QP 37 the flat background is covered by large units, and the bits go to the
# eye and the beak. Note how the directions follow the edges: the mode that predicts best
# runs along the structure. A mode is coded either as one of three **most probable modes**
# (MPM, H.265 §8.4.2) derived from the left and upper neighbours, or as one of the 32
# others in 5 bits; so a mode that continues its neighbours' costs two or three bits instead
# of six:

# %% [markdown] lang="zh"
# QP 22 时比特便宜：编码器把它们花在羽毛每条边缘上的小单元里。QP 37 时平坦的背景被大单元覆盖，比特流向眼睛和喙。
# 注意方向是怎样顺着边缘的：预测得最好的模式沿着结构延伸。一个模式要么编码为三个**最可能模式**之一
# （MPM，H.265 §8.4.2，由左边和上边的邻居推导出来），要么编码为其余 32 个模式之一，用 5 比特；
# 所以延续邻居方向的模式只需两三个比特，而不是六个：

# %%
for left, above in ((26, 26), (10, 26), (1, 1)):
    print(f"left neighbour mode {left:2}, above {above:2} -> most probable modes {most_probable_modes(left, above)}")

# %% [markdown] lang="en"
# ## 5. Chroma from luma (CCLM)
#
# Within one block, chroma is often close to a straight-line function of luma: the same
# object edge moves both. VVC's cross-component linear model (CCLM) fits that line on the
# **neighbours** of the chroma block, which the decoder has too, so only the choice of the
# mode costs bits:
#
# $$\text{pred}_C(x, y) = \big((\text{pDsY}(x, y)\cdot a) \gg k\big) + b$$
#
# where pDsY is the reconstructed luma brought to the chroma grid by a 6-tap filter, and
# $(a, k, b)$ is the line through the means of the two smallest and the two largest of four
# neighbour pairs, found with a table instead of a division. `classic` codes still pictures
# with it (`codeclab.classic.common.cclm`, its torch twin in `common/reference/cclm.py`):
# on Kodak it saves 2.6% of the bits at equal PSNR-RGB. Below, DC (the mean of the
# neighbours) and CCLM on every 8×8 Cb block of this picture, and the block where CCLM helps most.

# %% [markdown] lang="zh"
# ## 5. 由亮度预测色度（CCLM）
#
# 在一个块内，色度往往近似是亮度的一次函数：同一条物体边缘同时改变了二者。VVC 的跨分量线性模型（CCLM）
# 在色度块的**相邻样本**上拟合这条直线——解码器也有这些样本——所以只有“选用该模式”这一选择需要花费比特：
#
# $$\text{pred}_C(x, y) = \big((\text{pDsY}(x, y)\cdot a) \gg k\big) + b$$
#
# 其中 pDsY 是用 6 抽头滤波器下采样到色度网格的重建亮度，$(a, k, b)$ 是经过四对相邻样本中两个最小值与两个最大值
# 各自均值的直线，用查表代替除法求得。`classic` 编码静止图像时使用它（`codeclab.classic.common.cclm`，
# 其 torch 对照实现在 `common/reference/cclm.py`）：在 Kodak 上，相同 PSNR-RGB 下节省 2.6% 的比特。
# 下面在本图每个 8×8 的 Cb 块上比较 DC（相邻样本的均值）与 CCLM，并展示 CCLM 帮助最大的块。

# %%
from codeclab.classic.common.reference import cclm

ycbcr = rgb_to_ycbcr_int(image, "bt709", full_range=True).int()
cb = (ycbcr[1, 0::2, 0::2] + ycbcr[1, 1::2, 0::2] + ycbcr[1, 0::2, 1::2] + ycbcr[1, 1::2, 1::2] + 2) >> 2
n = 8


def dc_prediction(cx: int, cy: int) -> torch.Tensor:
    total = cb[cy - 1, cx:cx + n].sum() + cb[cy:cy + n, cx - 1].sum()
    return torch.full((n, n), int((total + n) // (2 * n)), dtype=torch.int64)


sse = {}                                    # every 8x8 Cb block with neighbours above and left
for cy in range(n, cb.shape[0] - n + 1, n):
    for cx in range(n, cb.shape[1] - n + 1, n):
        truth = cb[cy:cy + n, cx:cx + n].long()
        sse[cx, cy] = (int(((truth - dc_prediction(cx, cy)) ** 2).sum()),
                       int(((truth - cclm.predict(luma, cb, True, True, cx, cy, n)) ** 2).sum()))
wins = sum(c < d for d, c in sse.values())
print(f"CCLM beats DC on {wins} of {len(sse)} blocks; the encoder tries both and keeps the cheaper")
cx, cy = max(sse, key=lambda p: sse[p][0] - sse[p][1])   # where CCLM helps most
truth = cb[cy:cy + n, cx:cx + n].long()
a, k, b = cclm.parameters(luma, cb, True, True, cx, cy, n, 8)
pred_cclm, dc = cclm.predict(luma, cb, True, True, cx, cy, n), dc_prediction(cx, cy)
print(f"block at chroma ({cx}, {cy}): a = {a}, k = {k}, b = {b} (slope {a / 2 ** k:.3f}); "
      f"SSE DC {sse[cx, cy][0]}, CCLM {sse[cx, cy][1]}")

ds = cclm.downsample_block(luma, cx, cy, n, n, True)
fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
for ax, (title, block) in zip(axes[:3], (("Cb", truth), ("DC", dc), ("CCLM", pred_cclm))):
    ax.imshow(block, cmap="gray", vmin=int(truth.min()) - 5, vmax=int(truth.max()) + 5)
    ax.set_title(title)
    ax.axis("off")
axes[3].scatter(ds.flatten(), truth.flatten(), s=8, label="block samples")
line = torch.arange(int(ds.min()), int(ds.max()) + 1)
axes[3].plot(line, ((line * a) >> k) + b, color="C1", label="line fitted on the neighbours")
axes[3].set_xlabel("luma (downsampled)")
axes[3].set_ylabel("Cb")
axes[3].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown] lang="en"
# ## Exercises
#
# 1. **Lambda.** What is HM's Lagrange multiplier at QP 32? → `lambda_qp32`
# 2. **MPMs.** Which three most probable modes follow from a left neighbour with mode 2 and
#    an upper neighbour with mode 18? Work it out from the rule in `most_probable_modes`'s
#    docstring (H.265 §8.4.2), then check. A tuple → `mpm_2_18`
# 3. **Stripes.** An 8×8 block of vertical stripes continues the row of samples above it
#    straight down. Which intra mode predicts it best? → `stripes_mode`

# %% [markdown] lang="zh"
# ## 练习
#
# 1. **Lambda。** QP 32 时 HM 的拉格朗日乘子是多少？→ `lambda_qp32`
# 2. **MPM。** 左邻模式为 2、上邻模式为 18 时，三个最可能模式是什么？先按 `most_probable_modes` 文档字符串里的规则
#    （H.265 §8.4.2）推出来，再去验证。填一个三元组 → `mpm_2_18`
# 3. **条纹。** 一个由竖条纹组成的 8×8 块，是它上方那一行样本笔直向下的延续。哪个帧内模式预测它最好？→ `stripes_mode`

# %%
lambda_qp32 = None    # a number
mpm_2_18 = None       # a tuple of three modes
stripes_mode = None   # a mode number 0..34

# %% tags=["solution"]
lambda_qp32 = 0.57 * 2 ** ((32 - 12) / 3)
mpm_2_18 = (2, 18, 0)          # different neighbours: both, then planar (neither is planar)
stripes_mode = 26              # vertical

# %%
def grade(name, answer, is_right):
    """Print ✓ for a right answer, · for a missing one; a wrong one raises AssertionError."""
    if answer is None:
        print(f"·  {name}: not answered yet")
        return
    assert is_right(answer), f"{name}: not right yet — see the hint in the exercise"
    print(f"✓  {name}")


def stripes_right(mode):
    stripes = torch.tensor([40, 200, 90, 160, 30, 220, 120, 60] * 3, dtype=torch.int32)
    plane = torch.full((16, 24), 128, dtype=torch.int32)
    plane[7, :] = stripes                     # the row above the block
    plane[8:16, 8:16] = stripes[8:16]         # the block continues it downwards
    plane[:, 7] = plane[7, 8]                 # a plain left column
    decoded = torch.ones_like(plane, dtype=torch.bool)
    decoded[8:, 8:] = False
    predictions = predict_all_modes(reference_samples(plane, decoded, 8, 8, 8), 8)[0]
    sad = (predictions - plane[8:16, 8:16]).abs().sum(dim=(1, 2))
    return int(sad[int(mode)]) == int(sad.min())


grade("lambda_qp32", lambda_qp32, lambda v: abs(v - rd_lambda(32)) < 1e-6)
grade("mpm_2_18", mpm_2_18, lambda m: tuple(m) == most_probable_modes(2, 18))
grade("stripes_mode", stripes_mode, stripes_right)
