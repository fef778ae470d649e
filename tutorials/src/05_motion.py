# %% [markdown] lang="en"
# # Chapter 5 — Motion
#
# *[中文版](../zh/05_motion.ipynb) · [all chapters](../README.md)*
#
# Consecutive video frames are mostly the same scene, moved a little. Instead of coding each
# frame on its own, a video codec predicts a block of the current frame from a *displaced*
# block of a frame it has already decoded, sends the displacement — the **motion vector** —
# and codes only the residual. This chapter does it by hand on the *carphone* clip the
# package ships:
#
# 1. **block matching**: a full search for the best vector of every block, in a few lines
#    of vectorised torch;
# 2. **motion fields**: what the vectors look like;
# 3. **motion compensation** and residuals, at integer and at quarter-sample precision
#    with HEVC's interpolation filters (`codeclab.classic.common.reference.interp`).

# %% [markdown] lang="zh"
# # 第 5 章　运动
#
# *[English](../en/05_motion.ipynb) · [全部章节](../README.md)*
#
# 视频中相邻的帧大多是同一个场景，只是稍微移动了一点。视频编码器不单独编码每一帧，而是用一个已经解码的帧中*位移过*的块
# 来预测当前帧的块，传送这个位移——**运动矢量**——然后只编码残差。本章在随包附带的 *carphone* 片段上手工完成这件事：
#
# 1. **块匹配**：用几行向量化的 torch 代码，为每个块全搜索最好的矢量；
# 2. **运动场**：这些矢量看起来是什么样子；
# 3. **运动补偿**与残差，分别在整数精度和用 HEVC 插值滤波器（`codeclab.classic.common.reference.interp`）实现的四分之一样本精度下进行。

# %%
from importlib.resources import files
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from codeclab.classic import (chroma_prediction, encode_residuals, forward_transform, luma_prediction, quantize,
                              uni_pred)
from codeclab.eval.metrics import psnr
from codeclab.io import chroma_siting, merge_ycbcr, read_y4m, ycbcr_to_rgb_int

SAMPLES = Path(str(files("codeclab") / "data" / "samples"))
CLIP = SAMPLES / "carphone_qcif_10f.y4m"     # any Y4M works, e.g. ../shared/data/video/carphone_176x144.y4m
video = read_y4m(CLIP, max_frames=10)
print(f"{video.num_frames} frames of {video.width}x{video.height}, {float(video.fps):.2f} fps, "
      f"luma {tuple(video.y.shape)}, chroma {tuple(video.cb.shape)}")


def to_rgb(y: torch.Tensor, cb: torch.Tensor, cr: torch.Tensor) -> torch.Tensor:
    """One 4:2:0 frame as (3, H, W) RGB for display (BT.601, limited range: standard-definition video)."""
    ycbcr = merge_ycbcr(y, cb, cr, siting=chroma_siting(video.tags))
    return ycbcr_to_rgb_int(ycbcr, "bt601", full_range=False)

# %% [markdown] lang="en"
# ## 1. Two frames and their difference
#
# The simplest prediction of a frame is the previous one. Where nothing moves the
# difference is close to zero; through the windows and around the head it is not.

# %% [markdown] lang="zh"
# ## 1. 两帧及其差
#
# 对一帧最简单的预测就是它的前一帧。没有运动的地方差接近零；车窗里和头部周围则不然。

# %%
REF, CUR = 3, 4
reference, current = video.y[REF].int(), video.y[CUR].int()
print(f"previous frame as prediction: PSNR {psnr(current, reference):.2f} dB")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
axes[0].imshow(to_rgb(*video.planes(REF)).permute(1, 2, 0))
axes[0].set_title(f"frame {REF} (reference)")
axes[1].imshow(to_rgb(*video.planes(CUR)).permute(1, 2, 0))
axes[1].set_title(f"frame {CUR} (current)")
axes[2].imshow(current - reference, cmap="seismic", vmin=-80, vmax=80)
axes[2].set_title("current - reference")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# ## 2. Block matching
#
# For every 8×8 block of the current frame, try every displacement $(d_x, d_y)$ within
# ±8 samples and keep the one with the lowest cost
#
# $$J(d) = \mathrm{SAD}(d) + \lambda_{mv}\,(|d_x| + |d_y|),$$
#
# the sum of absolute differences plus a small price on long vectors (they cost more bits,
# and it keeps flat regions from picking random vectors). Instead of looping over blocks we
# loop over the 289 displacements and compute the SAD of *all* blocks for each at once:
# shift the reference, subtract, and sum over 8×8 tiles with a reshape. Outside the picture
# the reference repeats its border samples, as in HEVC (§8.5.3.3.3.1).

# %% [markdown] lang="zh"
# ## 2. 块匹配
#
# 对当前帧的每个 8×8 块，尝试 ±8 个样本范围内的所有位移 $(d_x, d_y)$，保留代价最低的那个：
#
# $$J(d) = \mathrm{SAD}(d) + \lambda_{mv}\,(|d_x| + |d_y|),$$
#
# 即绝对误差和，加上对长矢量的一点惩罚（长矢量要花更多比特；这也让平坦区域不会选出随机的矢量）。
# 我们不对块循环，而是对 289 个位移循环，每个位移一次算出*所有*块的 SAD：平移参考帧、相减，再用一次 reshape 在 8×8 的格子上求和。
# 与 HEVC 一样（§8.5.3.3.3.1），参考帧在图像之外重复其边界样本。

# %%
BLOCK, RADIUS, LAMBDA_MV = 8, 8, 4.0


def full_search(current: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer motion vectors (rows, cols, 2) as (dx, dy), and the SAD of each block at its vector."""
    height, width = current.shape
    padded = F.pad(reference[None, None].float(), (RADIUS,) * 4, mode="replicate")[0, 0]
    displacements = [(dx, dy) for dy in range(-RADIUS, RADIUS + 1) for dx in range(-RADIUS, RADIUS + 1)]
    costs, sads = [], []
    for dx, dy in displacements:
        shifted = padded[RADIUS + dy:RADIUS + dy + height, RADIUS + dx:RADIUS + dx + width]
        sad = (current - shifted).abs().reshape(height // BLOCK, BLOCK, width // BLOCK, BLOCK).sum(dim=(1, 3))
        sads.append(sad)
        costs.append(sad + LAMBDA_MV * (abs(dx) + abs(dy)))
    best = torch.stack(costs).argmin(dim=0)                   # (rows, cols) index into displacements
    vectors = torch.tensor(displacements)[best]               # (rows, cols, 2)
    return vectors, torch.stack(sads).gather(0, best[None])[0]


vectors, sad = full_search(current, reference)
rows, cols = vectors.shape[:2]
print(f"{rows * cols} blocks, {(2 * RADIUS + 1) ** 2} candidate vectors each; "
      f"{int((vectors == 0).all(dim=-1).sum())} blocks keep the zero vector")

ys, xs = torch.meshgrid(torch.arange(rows) * BLOCK + BLOCK / 2, torch.arange(cols) * BLOCK + BLOCK / 2, indexing="ij")
fig, ax = plt.subplots(figsize=(7, 5.8))
ax.imshow(to_rgb(*video.planes(CUR)).permute(1, 2, 0))
# An arrow from each block to where its content came from in the reference frame.
ax.quiver(xs, ys, vectors[..., 0], vectors[..., 1], color="yellow", angles="xy", scale_units="xy", scale=1, width=0.004)
ax.set_title(f"motion field, frame {CUR} from frame {REF} (8x8 blocks)")
ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# The car's interior is static (zero vectors); the views through the windows move, because
# the car drives; the head moves little between these two frames. Where the content really
# moves, neighbouring blocks agree; where it changes shape (the mouth, an eye blinking) no
# vector fits well and the residual will have to carry it.
#
# ## 3. Motion compensation
#
# The prediction of each block is the reference block its vector points to. HEVC computes
# it with `luma_prediction` — a vector in **quarter samples**, interpolated with the 8-tap
# filters of H.265 §8.5.3.3.3 into a 14-bit intermediate — and `uni_pred`, which rounds back
# to samples. For whole-sample vectors that is an exact copy; we check it, then build the
# prediction of all 396 blocks in one call (positions and vectors are tensors).

# %% [markdown] lang="zh"
# 车厢内部静止（零矢量）；车窗外的景物在动，因为车在行驶；这两帧之间头部动得很少。内容真正在移动的地方，
# 相邻块的矢量彼此一致；内容形状在变的地方（嘴巴、眨眼的眼睛），没有哪个矢量能拟合得好，只能靠残差来承载。
#
# ## 3. 运动补偿
#
# 每个块的预测就是它的矢量所指向的参考块。HEVC 用 `luma_prediction` 计算它——矢量以**四分之一样本**为单位，
# 用 H.265 §8.5.3.3.3 的 8 抽头滤波器插值成 14 比特的中间值——再用 `uni_pred` 舍入回样本值。对整数样本的矢量，
# 这就是精确的复制；我们先验证这一点，然后一次调用就构造出全部 396 个块的预测（位置和矢量都是张量）。

# %%
block_x = (torch.arange(cols) * BLOCK).repeat(rows)
block_y = (torch.arange(rows) * BLOCK).repeat_interleave(cols)


def compensate(reference: torch.Tensor, quarter_vectors: torch.Tensor) -> torch.Tensor:
    """Luma prediction of the whole frame from (rows, cols, 2) vectors in quarter samples."""
    mv = quarter_vectors.reshape(-1, 2)
    blocks = uni_pred(luma_prediction(reference, block_x, block_y, BLOCK, BLOCK, mv[:, 0], mv[:, 1]))
    return blocks.reshape(rows, cols, BLOCK, BLOCK).permute(0, 2, 1, 3).reshape(rows * BLOCK, cols * BLOCK)


integer_prediction = compensate(reference, 4 * vectors)
by_hand = F.pad(reference[None, None].float(), (RADIUS,) * 4, mode="replicate")[0, 0]
copy = torch.stack([by_hand[RADIUS + y + dy:RADIUS + y + dy + BLOCK, RADIUS + x + dx:RADIUS + x + dx + BLOCK]
                    for x, y, (dx, dy) in zip(block_x.tolist(), block_y.tolist(), vectors.reshape(-1, 2).tolist())])
copied_frame = copy.reshape(rows, cols, BLOCK, BLOCK).permute(0, 2, 1, 3).reshape(rows * BLOCK, -1).int()
print("whole-sample vectors give an exact copy:", torch.equal(integer_prediction, copied_frame))

# %% [markdown] lang="en"
# **Quarter-sample refinement.** Motion is not in whole samples. Around each integer vector
# we try the 8 half-sample neighbours, keep the best, then its 8 quarter-sample neighbours
# (HM's search does the same). Each step is 9 candidate vectors for all blocks at once.

# %% [markdown] lang="zh"
# **四分之一样本精细化。** 运动并不以整数样本为单位。我们在每个整数矢量周围尝试 8 个半样本邻居，保留最好的，
# 再尝试它的 8 个四分之一样本邻居（HM 的搜索也是这样做的）。每一步都是对所有块一次评估 9 个候选矢量。

# %%
def block_sad(prediction: torch.Tensor) -> torch.Tensor:
    return (current - prediction).abs().reshape(rows, BLOCK, cols, BLOCK).sum(dim=(1, 3))


def refine(quarter_vectors: torch.Tensor, step: int) -> torch.Tensor:
    """Best of each block's vector and its 8 neighbours ``step`` quarter samples away."""
    offsets = [(dx, dy) for dy in (-step, 0, step) for dx in (-step, 0, step)]
    candidates = torch.stack([quarter_vectors + torch.tensor(offset) for offset in offsets])     # (9, rows, cols, 2)
    sads = torch.stack([block_sad(compensate(reference, c)) for c in candidates])
    best = sads.argmin(dim=0)
    return candidates.gather(0, best[None, ..., None].expand(1, rows, cols, 2))[0]


quarter_vectors = refine(refine(4 * vectors, 2), 1)
quarter_prediction = compensate(reference, quarter_vectors)

residuals = {"previous frame": current - reference, "integer motion": current - integer_prediction,
             "quarter-sample motion": current - quarter_prediction}
for name, residual in residuals.items():
    levels = quantize(forward_transform(residual.reshape(rows, 8, cols, 8).permute(0, 2, 1, 3)), 32, log2n=3)
    coded = len(encode_residuals(levels.reshape(-1, 8, 8).numpy()))
    print(f"{name:22} prediction PSNR {psnr(current, current - residual):6.2f} dB   "
          f"residual at QP 32: {coded:5d} bytes")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
for ax, (name, residual) in zip(axes, residuals.items()):
    ax.imshow(residual, cmap="seismic", vmin=-80, vmax=80)
    ax.set_title(f"residual: {name}")
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# Motion compensation removes most of the residual; quarter-sample precision removes more,
# for about two more bits per vector component. What is left sits where the picture *changes* rather
# than moves.
#
# **Chroma** follows the luma vector: in 4:2:0 the chroma planes are half as wide, so the
# same number is a vector in *eighth* chroma samples (H.265 eq. 8-210), interpolated with
# the 4-tap filters of `chroma_prediction`. Here is the whole predicted frame in colour:

# %% [markdown] lang="zh"
# 运动补偿去掉了残差的大部分；四分之一样本精度去掉得更多，代价是每个矢量分量大约多两个比特。剩下的残差集中在图像*变化*而非移动的地方。
#
# **色度**沿用亮度的矢量：4:2:0 的色度平面只有一半宽，所以同一个数值就是以*八分之一*色度样本为单位的矢量（H.265 式 8-210），
# 用 `chroma_prediction` 的 4 抽头滤波器插值。下面是彩色的完整预测帧：

# %%
def compensate_chroma(plane: torch.Tensor, quarter_vectors: torch.Tensor) -> torch.Tensor:
    mv = quarter_vectors.reshape(-1, 2)
    half = BLOCK // 2
    blocks = uni_pred(chroma_prediction(plane, block_x // 2, block_y // 2, half, half, mv[:, 0], mv[:, 1]))
    return blocks.reshape(rows, cols, half, half).permute(0, 2, 1, 3).reshape(rows * half, cols * half)


_, ref_cb, ref_cr = video.planes(REF)
predicted = [quarter_prediction] + [compensate_chroma(p.int(), quarter_vectors) for p in (ref_cb, ref_cr)]
for name, prediction, actual in zip(("Y", "Cb", "Cr"), predicted, video.planes(CUR)):
    print(f"{name:2} prediction PSNR {psnr(actual, prediction):.2f} dB")

fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
axes[0].imshow(to_rgb(*video.planes(CUR)).permute(1, 2, 0))
axes[0].set_title(f"frame {CUR}")
axes[1].imshow(to_rgb(*(p.to(torch.uint8) for p in predicted)).permute(1, 2, 0))
axes[1].set_title(f"motion-compensated from frame {REF}")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# Over the whole clip, each frame predicted from the one before:

# %% [markdown] lang="zh"
# 在整个片段上，每一帧都由前一帧预测：

# %%
curves = {"previous frame": [], "integer motion": [], "quarter-sample motion": []}
for t in range(1, video.num_frames):
    reference, current = video.y[t - 1].int(), video.y[t].int()
    vectors, _ = full_search(current, reference)
    curves["previous frame"].append(psnr(current, reference))
    curves["integer motion"].append(psnr(current, compensate(reference, 4 * vectors)))
    curves["quarter-sample motion"].append(psnr(current, compensate(reference, refine(refine(4 * vectors, 2), 1))))

fig, ax = plt.subplots(figsize=(8, 3.3))
for name, values in curves.items():
    ax.plot(range(1, video.num_frames), values, marker="o", label=name)
ax.set_xlabel("frame")
ax.set_ylabel("prediction PSNR (luma) [dB]")
ax.grid(alpha=0.4)
ax.legend(loc="best", fontsize="small")
plt.show()

# %% [markdown] lang="en"
# ## Exercises
#
# 1. **Search effort.** How many SAD evaluations of an 8×8 block does our full search make
#    on one QCIF (176×144) frame with a search range of ±8? → `sad_evaluations`
# 2. **Quarter samples.** A luma vector component of −5 quarter samples: what are its
#    whole-sample part and its fraction (in quarters), as HEVC splits it
#    (`xInt = x + (mv >> 2)`, `xFrac = mv & 3`)? A tuple `(whole, fraction)` → `split_minus_5`
# 3. **A static background.** In the motion field of frame 4 from frame 3 (section 2), what
#    fraction of the blocks keep the zero vector? → `zero_vector_fraction`

# %% [markdown] lang="zh"
# ## 练习
#
# 1. **搜索量。** 对一帧 QCIF（176×144）图像、搜索范围 ±8，我们的全搜索要计算多少次 8×8 块的 SAD？→ `sad_evaluations`
# 2. **四分之一样本。** 一个 −5（以四分之一样本为单位）的亮度矢量分量，按 HEVC 的拆分方式
#    （`xInt = x + (mv >> 2)`，`xFrac = mv & 3`），整数样本部分和小数部分（以四分之一为单位）各是多少？
#    填一个二元组 `(whole, fraction)` → `split_minus_5`
# 3. **静止的背景。** 在第 2 节中由第 3 帧预测第 4 帧的运动场里，保持零矢量的块占多大比例？→ `zero_vector_fraction`

# %%
sad_evaluations = None        # an integer
split_minus_5 = None          # a tuple (whole, fraction)
zero_vector_fraction = None   # a number in [0, 1]

# %% tags=["solution"]
sad_evaluations = (176 // 8) * (144 // 8) * (2 * 8 + 1) ** 2
split_minus_5 = (-5 >> 2, -5 & 3)                   # (-2, 3): -5/4 = -2 + 3/4
frame_4_vectors, _ = full_search(video.y[4].int(), video.y[3].int())
zero_vector_fraction = float((frame_4_vectors == 0).all(dim=-1).float().mean())

# %%
def grade(name, answer, is_right):
    """Print ✓ for a right answer, · for a missing one; a wrong one raises AssertionError."""
    if answer is None:
        print(f"·  {name}: not answered yet")
        return
    assert is_right(answer), f"{name}: not right yet — see the hint in the exercise"
    print(f"✓  {name}")


def split_right(answer):
    whole, fraction = answer
    # The split must put the block at the same place: -5 quarters = whole + fraction / 4.
    ref = torch.arange(64, dtype=torch.int32).reshape(8, 8) * 3
    same = torch.equal(luma_prediction(ref, 2, 2, 4, 4, -5, 0), luma_prediction(ref, 2 + whole, 2, 4, 4, fraction, 0))
    return same and 0 <= fraction < 4


vectors_4, _ = full_search(video.y[4].int(), video.y[3].int())
grade("sad_evaluations", sad_evaluations, lambda n: n == 22 * 18 * 17 * 17)
grade("split_minus_5", split_minus_5, split_right)
grade("zero_vector_fraction", zero_vector_fraction,
      lambda f: abs(f - float((vectors_4 == 0).all(dim=-1).float().mean())) < 0.01)
