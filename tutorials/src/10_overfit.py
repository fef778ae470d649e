# %% [markdown] lang="en"
# # Chapter 10 — Overfitted codecs: the picture trains its own decoder
#
# *[中文版](../zh/10_overfit.ipynb) · [all chapters](../README.md)*
#
# Chapters 6 and 7 trained an autoencoder on many pictures, once, and then coded any picture
# with it. That needs 10⁵–10⁶ training steps before the first picture is coded. **Overfitted**
# codecs turn this around (Ladune et al., "COOL-CHIC", ICCV 2023; Kim et al., "C3", CVPR 2024):
# there is no encoder network at all. For *one* picture, gradient descent chooses a few latent
# grids and a tiny decoder — and both are sent in the bitstream:
#
# ```
#  latent grids y_0 (full size) ... y_6 (1/64)      ──► learned 2x upsampling, coarse to fine
#        │                                                  │  7 channels at full size
#        │ ARM: p(y | 12 decoded neighbours)                ▼
#        ▼                                            synthesis: 1x1, 1x1, 3x3, 3x3 convolutions
#   rate R = Σ −log2 p(y)                                   ▼
#                                                           x̂      loss  D(x, x̂) + λ·(R + network bits)
# ```
#
# The decoder runs a few hundred multiplications per pixel, so it is cheap; the encoder is a
# training run, so it is slow. In this chapter we overfit a crop live, look at what the
# latents became, code it for real and check that the decoder reproduces it bit for bit.

# %% [markdown] lang="zh"
# # 第 10 章　过拟合编码器：让图像训练自己的解码器
#
# *[English](../en/10_overfit.ipynb) · [全部章节](../README.md)*
#
# 第 6、7 章在许多图像上一次性训练一个自编码器，然后用它编码任意图像。这在编码第一幅图之前需要 10⁵–10⁶ 步训练。
# **过拟合**编码器把这件事倒过来（Ladune 等，"COOL-CHIC"，ICCV 2023；Kim 等，"C3"，CVPR 2024）：根本没有编码网络。
# 对*一幅*图像，梯度下降选出几张隐变量网格和一个很小的解码器——两者都写进码流：
#
# ```
#  隐变量网格 y_0（全尺寸）... y_6（1/64）          ──► 学习得到的 2 倍上采样，由粗到细
#        │                                                  │  全尺寸下 7 个通道
#        │ ARM：p(y | 12 个已解码的邻居)                      ▼
#        ▼                                            合成网络：1x1、1x1、3x3、3x3 卷积
#   码率 R = Σ −log2 p(y)                                   ▼
#                                                           x̂      损失  D(x, x̂) + λ·(R + 网络比特)
# ```
#
# 解码器每个像素只做几百次乘法，所以很便宜；编码器就是一次训练，所以很慢。本章现场过拟合一块裁剪图，
# 看看隐变量变成了什么样，真正地编码它，并检查解码器逐比特地复现了它。

# %%
import math
from importlib.resources import files
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from codeclab import api
from codeclab.bitstream import container
from codeclab.codec import get_codec
from codeclab.eval.metrics import psnr_rgb
from codeclab.io import read_image
from codeclab.learned.overfit.architecture import CONTEXT, Architecture
from codeclab.learned.overfit.encoder import forward, initial_parameters, quantize_latent, rd_loss

torch.manual_seed(0)
torch.set_num_threads(1)
SAMPLES = Path(str(files("codeclab") / "data" / "samples"))
OUT = Path("output")                 # what this chapter writes goes here (git ignores it)
OUT.mkdir(exist_ok=True)
picture = read_image(SAMPLES / "kodim15_crop256.png")[:, 64:160, 48:176]   # 128 x 96
target = picture.float() / 255

# %% [markdown] lang="en"
# ## 1. What is optimised
#
# `initial_parameters` makes the starting point: seven latent grids of zeros (full size down
# to 1/64 per side), bicubic upsampling taps, a random synthesis whose residual layers start as
# the identity, and an ARM whose output starts at mean 0, scale 1. The ARM reads the 12
# neighbours marked `x` below — all decoded before `o` in raster order, so the decoder can
# compute exactly the same probabilities.

# %% [markdown] lang="zh"
# ## 1. 优化的是什么
#
# `initial_parameters` 给出起点：七张全零的隐变量网格（每边从全尺寸到 1/64）、双三次上采样的抽头、一个残差层初始为恒等映射的
# 随机合成网络，以及输出初始为均值 0、尺度 1 的 ARM。ARM 读取下图中标为 `x` 的 12 个邻居——按光栅顺序它们都在 `o`
# 之前解码，所以解码器能算出完全相同的概率。

# %%
arch = Architecture()
latents, nets = initial_parameters(arch, *target.shape[-2:], torch.Generator().manual_seed(0))
print("grids:", [tuple(y.shape) for y in latents])
print("network parameters:", sum(v.numel() for v in nets.values()),
      f"— decoder cost {arch.macs_per_pixel():.0f} MAC per pixel")
pattern = np.full((4, 7), ".")
pattern[3, 3] = "o"
for di, dj in CONTEXT:
    pattern[3 + di, 3 + dj] = "x"
print("\n".join(" ".join(row) for row in pattern))

# %% [markdown] lang="en"
# ## 2. Overfitting, live
#
# Training uses a differentiable stand-in for rounding: soft rounding with added noise, whose
# temperature falls as training goes on (`quantize_latent(y, "soft", T, noise)`). The rate comes
# from the ARM's Laplace distributions; the distortion is the MSE in [0, 1]. The latents get a
# larger learning rate than the networks: they start at zero and must travel several units.

# %% [markdown] lang="zh"
# ## 2. 现场过拟合
#
# 训练时用一个可微的替代品代替取整：加了噪声的软取整，温度随训练下降（`quantize_latent(y, "soft", T, noise)`）。
# 码率来自 ARM 的拉普拉斯分布；失真是 [0, 1] 范围内的 MSE。隐变量的学习率比网络大：它们从零出发，要走好几个单位。

# %%
lmbda, steps = 2e-3, 300
params = [*latents, *nets.values()]
for p in params:
    p.requires_grad_(True)
optimiser = torch.optim.Adam([{"params": latents, "lr": 6e-2}, {"params": list(nets.values()), "lr": 1e-2}])
history = []
for i in range(steps):
    frac = i / (steps - 1)
    y_hat = [quantize_latent(y, "soft", 0.3 - 0.2 * frac, 0.25 - 0.15 * frac) for y in latents]
    x, bits = forward(y_hat, nets, *target.shape[-2:])
    loss, mse, bpp = rd_loss(x, target, bits, lmbda)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    history.append((bpp.item(), -10 * math.log10(mse.item())))

fig, ax = plt.subplots(1, 2, figsize=(9, 3))
ax[0].plot([h[1] for h in history]); ax[0].set_xlabel("iteration"); ax[0].set_ylabel("PSNR (dB)")
ax[1].plot([h[0] for h in history]); ax[1].set_xlabel("iteration"); ax[1].set_ylabel("latent bpp")
fig.tight_layout()
print(f"after {steps} iterations: {history[-1][1]:.2f} dB at {history[-1][0]:.3f} bpp (latents only)")

# %% [markdown] lang="en"
# ## 3. What the latents became
#
# Round the latents and look: the full-size grid holds edges and texture, the coarse grids the
# smooth shading. Most values are 0 — and the ARM predicts them with a small scale, so they
# cost a small fraction of a bit each.

# %% [markdown] lang="zh"
# ## 3. 隐变量变成了什么
#
# 把隐变量取整后看一看：全尺寸网格里是边缘和纹理，粗网格里是平滑的明暗。大多数值是 0——ARM 以很小的尺度预测它们，
# 所以每个只花零点几比特。

# %%
rounded = [torch.round(y.detach()) for y in latents]
fig, ax = plt.subplots(1, 4, figsize=(12, 2.6))
for level, a in enumerate(ax):
    g = rounded[level]
    reach = max(1.0, g.abs().max().item())
    a.imshow(g, cmap="RdBu_r", vmin=-reach, vmax=reach, interpolation="nearest")
    a.set_title(f"level {level}: {tuple(g.shape)}, {100 * (g == 0).float().mean():.0f}% zeros", fontsize=8)
    a.axis("off")
fig.tight_layout()

# %% [markdown] lang="en"
# ## 4. The real codec
#
# `codeclab`'s `overfit` codec does all of this and more: its networks start from a *prior*,
# networks fitted once on a mosaic of training pictures (`codeclab fit-prior`), so the steps
# go to this picture rather than to learning what every picture needs; a cosine learning
# rate; then it quantises the networks (the step of each group is chosen by rate-distortion)
# and codes everything with an rANS coder. Its decoder is
# an exact integer program, so the decoded picture is the encoder's reconstruction on every
# machine. `effort` sets the number of iterations (the presets `fast`, `medium`, `slow` are
# for whole pictures; here 250 iterations keep the chapter short).

# %% [markdown] lang="zh"
# ## 4. 真正的编码器
#
# `codeclab` 的 `overfit` 编码器做了这一切，还做得更多：它的网络从一个*先验*出发——在训练图像拼成的马赛克上预先拟合好的网络
# （`codeclab fit-prior`），于是迭代用在这幅图像本身，而不是去学习每幅图像都需要的东西；再用余弦学习率训练，
# 然后量化网络（每组参数的步长由率失真选择），用 rANS 编码器把一切写进码流。它的解码器是精确的整数程序，
# 所以在任何机器上解码出的图像都等于编码器的重建。`effort` 设置迭代次数（预设 `fast`、`medium`、`slow` 面向整幅图像；
# 这里用 250 次迭代让本章保持简短）。

# %%
codec = get_codec("overfit").configure(effort=250)
result = api.encode_image(picture, codec, 5.0)
(OUT / "crop.clb").write_bytes(result.data)
decoded = api.decode((OUT / "crop.clb").read_bytes())
pixels = picture.shape[1] * picture.shape[2]
print(f"{len(result.data)} bytes = {8 * len(result.data) / pixels:.3f} bpp, "
      f"PSNR-RGB {psnr_rgb(picture, decoded):.2f} dB, decoded == reconstruction: {torch.equal(decoded, result.recon)}")
print("inside the stream:", result.stats)
info = codec.describe_params(container.parse(result.data).params)
print("parameter block:", info)

# %% [markdown] lang="en"
# The stream carries the networks too: on a small crop their bytes are a large share of the
# rate, on a whole picture a small one. That is why overfitted codecs shine on large pictures.

# %% [markdown] lang="zh"
# 码流里也带着网络：在小裁剪图上网络的字节占码率的很大一部分，在整幅图像上只占一小部分。这就是过拟合编码器在大图上表现更好的原因。

# %% [markdown] lang="en"
# ## Exercises
#
# 1. **Decoder cost.** How many multiply-accumulates per pixel does the ARM alone cost at
#    full resolution, per latent of level 0, for 12 inputs, two hidden layers of width 8 and
#    2 outputs? → `arm_macs_per_latent`
# 2. **Latents per pixel.** Seven grids, each half the size of the previous one in both
#    directions: how many latents per picture pixel, to three decimals? → `latents_per_pixel`
# 3. **Who pays for the network?** The network stream of the encode above cost
#    `result.stats["network_bytes"]` bytes. What share of the whole file is that, in percent?
#    → `network_share`

# %% [markdown] lang="zh"
# ## 练习
#
# 1. **解码代价。** 对 0 级的每个隐变量，输入 12 个、两个宽度为 8 的隐藏层、2 个输出的 ARM 要做多少次乘加？→ `arm_macs_per_latent`
# 2. **每像素的隐变量。** 七张网格，每张在两个方向上都是上一张的一半：每个图像像素对应多少个隐变量（保留三位小数）？→ `latents_per_pixel`
# 3. **谁为网络买单？** 上面那次编码的网络码流花了 `result.stats["network_bytes"]` 字节。它占整个文件的百分之多少？→ `network_share`

# %%
arm_macs_per_latent = None   # an integer
latents_per_pixel = None     # a number
network_share = None         # a number, in percent

# %% tags=["solution"]
arm_macs_per_latent = 12 * 8 + 8 * 8 + 8 * 2
latents_per_pixel = round(sum(4.0 ** -level for level in range(7)), 3)
network_share = 100 * result.stats["network_bytes"] / len(result.data)

# %%
def grade(name, answer, is_right):
    """Print ✓ for a right answer, · for a missing one; a wrong one raises AssertionError."""
    if answer is None:
        print(f"·  {name}: not answered yet")
        return
    assert is_right(answer), f"{name}: not right yet — see the hint in the exercise"
    print(f"✓  {name}")


grade("arm_macs_per_latent", arm_macs_per_latent, lambda n: n == len(CONTEXT) * 8 + 8 * 8 + 8 * 2)
grade("latents_per_pixel", latents_per_pixel, lambda v: abs(v - 4 / 3 * (1 - 4.0 ** -7)) < 1e-3)
grade("network_share", network_share,
      lambda v: abs(v - 100 * result.stats["network_bytes"] / len(result.data)) < 0.5)
