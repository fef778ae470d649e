# %% [markdown] lang="en"
# # Chapter 6 — Learned transform coding
#
# *[中文版](../zh/06_learned.ipynb) · [all chapters](../README.md)*
#
# Chapters 2 and 3 built a codec from fixed parts: a DCT, a uniform quantiser, an entropy
# model estimated from counts. A **learned** codec keeps the same three stages but lets
# gradient descent choose them together (Ballé, Laparra and Simoncelli, "End-to-end
# optimized image compression", ICLR 2017):
#
# ```
# x ──g_a──► y ──Q──► ŷ ──g_s──► x̂          loss  L = λ·D(x, x̂) + R(ŷ)
#                     │
#          entropy model p(ŷ), R = Σ −log2 p(ŷ)
# ```
#
# In this chapter we train one from scratch, on the CPU, in under a minute — tiny, so it
# will not beat JPEG, but it is the complete thing: the analysis and synthesis transforms
# from `codeclab.learned.layers`, the factorized prior `EntropyBottleneck` from
# `codeclab.entropy`, the rate-distortion loss from `codeclab.train.losses`, and at the end
# a real bitstream coded with ANS. Along the way: why training adds noise instead of
# rounding, and what the rate term does to the latent.

# %% [markdown] lang="zh"
# # 第 6 章　学习型变换编码
#
# *[English](../en/06_learned.ipynb) · [全部章节](../README.md)*
#
# 第 2、3 章用固定的部件搭了一个编码器：DCT、均匀量化器、由计数估计出来的熵模型。**学习型**编码器保留同样的三级，
# 却让梯度下降把它们一起选出来（Ballé、Laparra、Simoncelli，"End-to-end optimized image compression"，ICLR 2017）：
#
# ```
# x ──g_a──► y ──Q──► ŷ ──g_s──► x̂          损失  L = λ·D(x, x̂) + R(ŷ)
#                     │
#          熵模型 p(ŷ)，R = Σ −log2 p(ŷ)
# ```
#
# 本章在 CPU 上、用不到一分钟从零训练一个这样的模型——它很小，所以赢不了 JPEG，但它是完整的：分析变换和合成变换来自
# `codeclab.learned.layers`，分解先验 `EntropyBottleneck` 来自 `codeclab.entropy`，率失真损失来自
# `codeclab.train.losses`，最后用 ANS 编码出真实的码流。沿途还会讲清楚：训练时为什么加噪声而不是取整，
# 以及码率项对隐变量做了什么。

# %%
from importlib.resources import files
from pathlib import Path
import math

import matplotlib.pyplot as plt
import torch
from torch import nn

from codeclab import api
from codeclab.entropy import EntropyBottleneck, quantize
from codeclab.eval.metrics import bpp, psnr_rgb
from codeclab.io import read_image
from codeclab.learned.layers import GDN, conv, deconv
from codeclab.train.datasets import random_crop, to_unit_float
from codeclab.train.losses import bits_per_pixel, rate_distortion_loss

torch.manual_seed(0)
SAMPLES = Path(str(files("codeclab") / "data" / "samples"))
TRAINING = Path(str(files("codeclab") / "data" / "training_samples"))
train_pictures = [read_image(path) for path in sorted(TRAINING.glob("*.png"))]  # two public-domain photos
test_picture = read_image(SAMPLES / "kodim15_crop256.png")       # Kodak: for evaluation only

# %% [markdown] lang="en"
# ## 1. The model
#
# The analysis transform $g_a$ is three 5×5 convolutions of stride 2 with GDN between them
# (a normalisation that divides each channel by a learned combination of the others'
# energies, well suited to natural images); the synthesis $g_s$ mirrors it with transposed
# convolutions and inverse GDN. A 32×32 crop becomes a latent of $M$ channels × 4 × 4. The
# `EntropyBottleneck` learns one density per latent channel and gives the likelihood of
# every quantised latent element — the rate. `codeclab.learned.models.FactorizedPrior` is
# the full-size version of exactly this (four layers each way, 128/192 channels, gain units
# for variable rate).

# %% [markdown] lang="zh"
# ## 1. 模型
#
# 分析变换 $g_a$ 由三个步长为 2 的 5×5 卷积组成，中间夹着 GDN（一种归一化：每个通道除以其他通道能量的一个学习出来的组合，
# 很适合自然图像）；合成变换 $g_s$ 与之镜像对称，用转置卷积和逆 GDN。一个 32×32 的裁剪块变成 $M$ 个通道 × 4 × 4 的隐变量。
# `EntropyBottleneck` 为每个隐变量通道学习一个概率密度，给出每个量化后隐变量元素的似然——也就是码率。
# `codeclab.learned.models.FactorizedPrior` 正是它的完整版（每侧四层，128/192 个通道，用增益单元实现可变码率）。

# %%
class TinyFactorized(nn.Module):
    """Ballé's factorized-prior codec in miniature: H x W x 3 -> H/8 x W/8 x M."""

    def __init__(self, N: int = 32, M: int = 48):
        super().__init__()
        self.g_a = nn.Sequential(conv(3, N), GDN(N), conv(N, N), GDN(N), conv(N, M))
        self.g_s = nn.Sequential(deconv(M, N), GDN(N, inverse=True), deconv(N, N), GDN(N, inverse=True),
                                 deconv(N, 3))
        self.entropy_bottleneck = EntropyBottleneck(M)

    def forward(self, x: torch.Tensor) -> dict:
        y = self.g_a(x)
        y_hat, likelihoods = self.entropy_bottleneck(y)      # noisy while training, rounded in eval()
        return {"x_hat": self.g_s(y_hat), "likelihoods": {"y": likelihoods}}


model = TinyFactorized()
crop = torch.rand(1, 3, 32, 32)
print("latent of a 32x32 crop:", tuple(model.g_a(crop).shape))
print("parameters:", sum(p.numel() for p in model.parameters()))

# %% [markdown] lang="en"
# ## 2. Noise instead of rounding
#
# Rounding has a zero derivative almost everywhere, so gradient descent cannot see through
# it. Training replaces it with **additive uniform noise**, $\tilde y = y + u$,
# $u \sim \mathcal U(-\tfrac12, \tfrac12)$. The density of $\tilde y$ is the latent's
# density convolved with a unit box — and at an integer $k$ that is exactly the probability
# that $y$ rounds to $k$:
#
# $$p_{\tilde y}(k) = \int_{k-1/2}^{k+1/2} p_y(t)\,dt = P(\mathrm{round}(y) = k).$$
#
# So $-\log_2$ of the noisy likelihood is a smooth, differentiable stand-in for the bits the
# rounded value will cost. The noise also has the statistics of the rounding error (uniform,
# variance 1/12), so the synthesis learns to live with it. At test time the codec rounds
# (`codeclab.entropy.quantize` has all three modes):

# %% [markdown] lang="zh"
# ## 2. 用噪声代替取整
#
# 取整的导数几乎处处为零，梯度下降"看不穿"它。训练时用**加性均匀噪声**代替它：$\tilde y = y + u$，
# $u \sim \mathcal U(-\tfrac12, \tfrac12)$。$\tilde y$ 的密度是隐变量密度与单位宽度方框的卷积——而在整数 $k$ 处，
# 它恰好等于 $y$ 被取整为 $k$ 的概率：
#
# $$p_{\tilde y}(k) = \int_{k-1/2}^{k+1/2} p_y(t)\,dt = P(\mathrm{round}(y) = k).$$
#
# 所以加噪后似然的 $-\log_2$ 是取整值将要花费的比特数的一个平滑、可微的替身。噪声的统计特性也与取整误差相同
# （均匀分布，方差 1/12），合成变换于是学会了与它相处。测试时编码器才真正取整（`codeclab.entropy.quantize` 提供这三种模式）：

# %%
y = torch.randn(100_000) * 3
for mode in ("noise", "ste", "dequantize"):
    error = quantize(y, mode) - y
    print(f"{mode:10} error mean {error.mean():+.4f}  variance {error.var():.4f}  (1/12 = {1 / 12:.4f})  "
          f"gradient passes: {mode != 'dequantize'}")

# %% [markdown] lang="en"
# ## 3. The loss, and training
#
# `rate_distortion_loss` computes $L = \lambda \cdot 255^2 \cdot \mathrm{MSE} + R$ with
# $R$ = `bits_per_pixel(likelihoods)` $= \sum -\log_2 p(\hat y) / (H W)$ — CompressAI's
# convention, so $\lambda = 0.013$ is its "quality 4". Each step draws 16 random 32×32 crops
# of the two training pictures. The learning rate is high for a codec (1e-2, decaying along a
# cosine) and the gradient norm is clipped at 1: GDN diverges otherwise at this rate. Five
# hundred steps take about half a minute on one busy CPU core.

# %% [markdown] lang="zh"
# ## 3. 损失函数与训练
#
# `rate_distortion_loss` 计算 $L = \lambda \cdot 255^2 \cdot \mathrm{MSE} + R$，其中 $R$ =
# `bits_per_pixel(likelihoods)` $= \sum -\log_2 p(\hat y) / (H W)$——这是 CompressAI 的约定，所以 $\lambda = 0.013$
# 就是它的"质量 4"。每一步从两幅训练图中随机抽取 16 个 32×32 的裁剪块。对编码器来说学习率很高（1e-2，按余弦曲线衰减），
# 梯度范数被裁剪到 1：否则在这个学习率下 GDN 会发散。在一个繁忙的 CPU 核上，五百步约需半分钟。

# %%
LAMBDA, STEPS, BATCH, CROP = 0.013, 500, 16, 32
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS, eta_min=1e-3)
generator = torch.Generator().manual_seed(0)

history = []
model.train()
for step in range(STEPS):
    picks = torch.randint(len(train_pictures), (BATCH,), generator=generator).tolist()
    x = torch.stack([to_unit_float(random_crop(train_pictures[i], CROP, generator)) for i in picks])
    parts = rate_distortion_loss(model(x), x, LAMBDA)
    optimizer.zero_grad()
    parts["loss"].backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    schedule.step()
    history.append((parts["bpp"].item(), 10 * math.log10(1 / max(parts["mse"].item(), 1e-10))))

rates, qualities = zip(*history)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.3))
axes[0].plot(rates, linewidth=0.6)
axes[0].set_ylabel("training rate R [bpp, estimated]")
axes[1].plot(qualities, linewidth=0.6)
axes[1].set_ylabel("training PSNR [dB]")
for ax in axes:
    ax.set_xlabel("step")
    ax.grid(alpha=0.4)
plt.show()

# %% [markdown] lang="en"
# ## 4. From an estimate to a file
#
# Three numbers for the unseen test picture:
#
# 1. the **training estimate**: noisy latents, $\sum -\log_2 p(\tilde y)$;
# 2. the **test estimate**: `model.eval()` rounds, $\sum -\log_2 p(\hat y)$;
# 3. the **file**: `update()` turns each learned density into an integer CDF table (chapter
#    3), `compress` codes the rounded latents with ANS, `decompress` reads them back — the
#    bytes are what a codec is judged by.
#
# The decoded latents are exactly the rounded ones (checked below). The synthesis then runs
# in floating point, whose last bits can depend on memory layout and thread count; the
# library's learned codecs make that step deterministic too (`codeclab.learned.banded`).

# %% [markdown] lang="zh"
# ## 4. 从估计值到文件
#
# 对没见过的测试图给出三个数：
#
# 1. **训练时的估计**：加噪的隐变量，$\sum -\log_2 p(\tilde y)$；
# 2. **测试时的估计**：`model.eval()` 会取整，$\sum -\log_2 p(\hat y)$；
# 3. **文件**：`update()` 把每个学到的密度变成整数 CDF 表（第 3 章），`compress` 用 ANS 编码取整后的隐变量，
#    `decompress` 把它们读回来——评判编码器的，正是这些字节。
#
# 解码得到的隐变量与取整后的隐变量完全相同（下面做了验证）。之后的合成变换用浮点数计算，其最后几位可能随内存布局和线程数而变；
# 库中的学习型编码器把这一步也做成了确定性的（`codeclab.learned.banded`）。

# %%
x = to_unit_float(test_picture).unsqueeze(0)
pixels = x.shape[-2] * x.shape[-1]
with torch.no_grad():
    model.train()
    torch.manual_seed(1)
    noisy = model(x)
    model.eval()
    model.entropy_bottleneck.update()                       # integer tables, medians
    rounded = model(x)
    y = model.g_a(x)
    y_rounded, _ = model.entropy_bottleneck(y)              # round(y - median) + median
    stream = model.entropy_bottleneck.compress(y)
    y_hat = model.entropy_bottleneck.decompress(stream, y.shape)
    decoded = model.g_s(y_hat)


def as_8bit(x_hat: torch.Tensor) -> torch.Tensor:
    return (x_hat[0].clamp(0, 1) * 255).round().to(torch.uint8)


print(f"training estimate: {bits_per_pixel(noisy['likelihoods'], pixels).item():.3f} bpp, "
      f"PSNR {psnr_rgb(test_picture, as_8bit(noisy['x_hat'])):.2f} dB (with noise)")
print(f"test estimate:     {bits_per_pixel(rounded['likelihoods'], pixels).item():.3f} bpp, "
      f"PSNR {psnr_rgb(test_picture, as_8bit(rounded['x_hat'])):.2f} dB")
print(f"real stream:       {bpp(len(stream), 256, 256):.3f} bpp ({len(stream)} bytes), "
      f"PSNR {psnr_rgb(test_picture, as_8bit(decoded)):.2f} dB")
print("decoded latents equal the rounded latents:", torch.equal(y_hat, y_rounded))

# %% [markdown] lang="en"
# ## 5. What the rate term did to the latent
#
# The loss charges every bit, so a channel that does not pay for itself in distortion is
# pushed towards a single value, which costs almost nothing: the bits concentrate in a few
# channels (after long training many channels are switched off entirely). Below, the bits
# each channel spends on the test picture, and the histogram of the busiest channel next to
# the likelihood the model assigns to each integer — learned on other pictures, so not a
# perfect fit: that mismatch is the price of a factorized prior, which chapter 7 attacks.

# %% [markdown] lang="zh"
# ## 5. 码率项对隐变量做了什么
#
# 损失函数为每一个比特计费，所以在失真上"挣不回"自身代价的通道会被推向同一个值，几乎不花比特：比特集中在少数几个通道里
# （训练得足够久，许多通道会被完全关掉）。下面是测试图上每个通道花费的比特数，以及最忙的那个通道的直方图和模型给每个整数分配的似然——
# 模型是在别的图像上学出来的，所以并不完全吻合：这种失配正是分解先验的代价，第 7 章要解决的就是它。

# %%
channel_bits = -torch.log2(rounded["likelihoods"]["y"][0]).sum(dim=(1, 2))       # (M,)
order = channel_bits.argsort(descending=True)
busiest = int(order[0])
values = (y_hat[0, busiest] - model.entropy_bottleneck.medians[busiest]).round().reshape(-1)
support = torch.arange(int(values.min()) - 2, int(values.max()) + 3, dtype=torch.float32)
bottleneck = model.entropy_bottleneck
with torch.no_grad():   # the likelihood of every channel at these values; we keep the busiest one's
    grid = (support + bottleneck.medians[busiest]).reshape(1, 1, -1).expand(1, bottleneck.channels, -1)
    model_probability = bottleneck.likelihood(grid)[0, busiest]

fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
axes[0].bar(range(len(order)), channel_bits[order])
axes[0].set_xlabel("latent channel (sorted)")
axes[0].set_ylabel("bits on the test picture")
share = channel_bits[order].cumsum(0) / channel_bits.sum()
print(f"the 10 busiest of {len(order)} channels carry {share[9] * 100:.0f} % of the bits; "
      f"{int((channel_bits < 0.01 * channel_bits.sum() / len(order)).sum())} channels spend almost nothing")
counts = torch.stack([(values == v).float().mean() for v in support])
axes[1].bar(support, counts, width=0.8, label="rounded latents (test picture)")
axes[1].plot(support, model_probability, color="C1", marker="o", label="model likelihood")
axes[1].set_xlabel(f"channel {busiest}: round(y - median)")
axes[1].legend(loc="upper left", fontsize="small")
plt.show()

# %% [markdown] lang="en"
# ## 6. Next to JPEG
#
# Finally, the honest comparison: JPEG at the quality whose file is closest in size.

# %% [markdown] lang="zh"
# ## 6. 与 JPEG 放在一起
#
# 最后是诚实的比较：找一个文件大小最接近的 JPEG 质量。

# %%
jpeg_files = {q: api.encode_image(test_picture, "jpeg", q) for q in range(5, 96, 5)}
quality, jpeg = min(jpeg_files.items(), key=lambda item: abs(len(item[1].data) - len(stream)))
print(f"JPEG quality {quality}: {bpp(len(jpeg.data), 256, 256):.3f} bpp, "
      f"PSNR {psnr_rgb(test_picture, jpeg.recon):.2f} dB")

fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
for ax, picture, title in ((axes[0], test_picture, "original"),
                           (axes[1], as_8bit(decoded), f"tiny learned codec, {bpp(len(stream), 256, 256):.2f} bpp"),
                           (axes[2], jpeg.recon, f"JPEG q{quality}, {bpp(len(jpeg.data), 256, 256):.2f} bpp")):
    ax.imshow(picture.permute(1, 2, 0))
    ax.set_title(title)
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# Half a minute of training on two small pictures does not beat thirty years of JPEG
# engineering; the model's pictures are blurry rather than blocky. The same recipe, with
# bigger transforms, a hyperprior (chapter 7), millions of training steps and a GPU, is what
# surpasses HEVC. What matters here is that every part is real: the loss estimates rate
# with likelihoods, but the rate we *report* is the length of an ANS stream.
#
# ## Exercises
#
# 1. **The loss.** With λ = 0.013, what is the loss of a picture reconstructed at MSE 0.001
#    (on the [0, 1] scale) at 0.5 bpp? → `loss_value`
# 2. **Rounding error.** What is the variance of the noise $u \sim \mathcal U(-\tfrac12, \tfrac12)$? →
#    `noise_variance`
# 3. **Latent size.** How many latent elements does `TinyFactorized()` produce for a
#    768×512 Kodak picture? → `latent_elements_768x512`
#
# Try also: retrain with λ = 0.0035 and λ = 0.05 and put the three (bpp, PSNR) points of
# the test picture on one plot — your first learned RD curve.

# %% [markdown] lang="zh"
# 在两幅小图上训练半分钟，赢不了 JPEG 三十年的工程积累；模型的图像是模糊，而不是块效应。同样的方法，换上更大的变换、超先验
# （第 7 章）、数百万步训练和一块 GPU，就能超过 HEVC。这里要紧的是每个部件都是真实的：损失函数用似然*估计*码率，
# 而我们*报告*的码率是一条 ANS 码流的长度。
#
# ## 练习
#
# 1. **损失。** λ = 0.013 时，一幅以 0.5 bpp 重建、MSE 为 0.001（在 [0, 1] 尺度上）的图像，损失是多少？→ `loss_value`
# 2. **取整误差。** 噪声 $u \sim \mathcal U(-\tfrac12, \tfrac12)$ 的方差是多少？→ `noise_variance`
# 3. **隐变量大小。** 对一幅 768×512 的 Kodak 图像，`TinyFactorized()` 产生多少个隐变量元素？→ `latent_elements_768x512`
#
# 还可以试试：用 λ = 0.0035 和 λ = 0.05 重新训练，把测试图上的三个 (bpp, PSNR) 点画在一张图上——这就是你的第一条学习型率失真曲线。

# %%
loss_value = None                # a number
noise_variance = None            # a number
latent_elements_768x512 = None   # an integer

# %% tags=["solution"]
loss_value = 0.013 * 255 ** 2 * 0.001 + 0.5
noise_variance = 1 / 12
latent_elements_768x512 = 48 * (768 // 8) * (512 // 8)

# %%
def grade(name, answer, is_right):
    """Print ✓ for a right answer, · for a missing one; a wrong one raises AssertionError."""
    if answer is None:
        print(f"·  {name}: not answered yet")
        return
    assert is_right(answer), f"{name}: not right yet — see the hint in the exercise"
    print(f"✓  {name}")


def loss_right(value):
    x = torch.zeros(1, 3, 4, 4)
    output = {"x_hat": x + math.sqrt(0.001), "likelihoods": {"y": torch.full((1, 8), 2.0 ** -1)}}   # 8 bits / 16 pixels
    return abs(value - rate_distortion_loss(output, x, 0.013)["loss"].item()) < 1e-4


with torch.no_grad():
    kodak_latent = TinyFactorized().g_a(torch.zeros(1, 3, 512, 768))
grade("loss_value", loss_value, loss_right)
grade("noise_variance", noise_variance, lambda v: abs(v - 1 / 12) < 1e-9)
grade("latent_elements_768x512", latent_elements_768x512, lambda n: n == kodak_latent.numel())
