# %% [markdown] lang="en"
# # Chapter 1 — Pictures as data
#
# *[中文版](../zh/01_pictures.ipynb) · [all chapters](../README.md)*
#
# Before any coding tool, a codec makes three choices about the picture itself: in which
# **colour space** to code it, how many **chroma samples** to keep, and how to **measure**
# what was lost and what it cost. This chapter makes each choice visible with
# `codeclab.io` and `codeclab.eval.metrics`:
#
# 1. RGB and Y'CbCr (BT.601 and BT.709), and what a mismatched conversion costs;
# 2. chroma subsampling 4:2:0;
# 3. PSNR and MS-SSIM — and two pictures with the same PSNR that look nothing alike;
# 4. what "bits per pixel" means, measured on real files.

# %% [markdown] lang="zh"
# # 第 1 章　把图像当作数据
#
# *[English](../en/01_pictures.ipynb) · [全部章节](../README.md)*
#
# 在使用任何编码工具之前，编码器先要对图像本身做三个选择：在什么**颜色空间**里编码，保留多少
# **色度样本**，以及如何**度量**损失了什么、花了多少比特。本章用 `codeclab.io` 和
# `codeclab.eval.metrics` 把这三个选择一一展示出来：
#
# 1. RGB 与 Y'CbCr（BT.601 和 BT.709），以及颜色转换不匹配的代价；
# 2. 色度下采样 4:2:0；
# 3. PSNR 与 MS-SSIM——以及 PSNR 相同、看起来却完全不同的两幅图；
# 4. "每像素比特数"（bpp）的含义，用真实的文件来测量。

# %%
from importlib.resources import files
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from codeclab import api
from codeclab.eval.metrics import bpp, ms_ssim_rgb, mse, psnr_from_mse, psnr_rgb
from codeclab.io import (downsample_chroma, png_bytes, read_image, rgb_to_ycbcr, rgb_to_ycbcr_int,
                         upsample_chroma, ycbcr_to_rgb, ycbcr_to_rgb_int)

SAMPLES = Path(str(files("codeclab") / "data" / "samples"))
image = read_image(SAMPLES / "kodim23_crop256.png")     # (3, 256, 256) uint8: a red parrot
height, width = image.shape[-2:]


def show(pictures: dict, cmap=None, size=3.3):
    """Pictures side by side: (3, H, W) RGB or (H, W) planes, titled by their keys."""
    fig, axes = plt.subplots(1, len(pictures), figsize=(size * len(pictures), size))
    for ax, (title, picture) in zip(axes, pictures.items()):
        picture = picture.permute(1, 2, 0) if picture.dim() == 3 else picture
        ax.imshow(picture, cmap=cmap if picture.dim() == 2 else None, interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    plt.show()

# %% [markdown] lang="en"
# ## 1. RGB and Y'CbCr
#
# A camera's R, G and B are strongly correlated: an edge shows in all three. Coding them
# separately would send the same structure three times. The Y'CbCr transform rotates the
# colour cube so that one axis carries brightness and two carry colour differences
# (Rec. ITU-R BT.601 §2.5, BT.709 §3):
#
# $$Y' = K_r R' + (1 - K_r - K_b) G' + K_b B', \qquad
#   C_b = \frac{B' - Y'}{2(1 - K_b)}, \qquad C_r = \frac{R' - Y'}{2(1 - K_r)}$$
#
# with $(K_r, K_b) = (0.299, 0.114)$ for BT.601 and $(0.2126, 0.0722)$ for BT.709.
# `rgb_to_ycbcr` computes it in floating point; in full range a grey has
# $C_b = C_r = 128/255$.

# %% [markdown] lang="zh"
# ## 1. RGB 与 Y'CbCr
#
# 相机输出的 R、G、B 高度相关：一条边缘会同时出现在三个通道里。分别编码三个通道，等于把同样的结构传三遍。
# Y'CbCr 变换把颜色立方体转一个角度，让一个轴承载亮度，另外两个轴承载色差
# （ITU-R BT.601 §2.5，BT.709 §3）：
#
# $$Y' = K_r R' + (1 - K_r - K_b) G' + K_b B', \qquad
#   C_b = \frac{B' - Y'}{2(1 - K_b)}, \qquad C_r = \frac{R' - Y'}{2(1 - K_r)}$$
#
# 其中 BT.601 取 $(K_r, K_b) = (0.299, 0.114)$，BT.709 取 $(0.2126, 0.0722)$。
# `rgb_to_ycbcr` 用浮点数计算它；在全范围（full range）下，灰色的 $C_b = C_r = 128/255$。

# %%
rgb = image.float() / 255
ycbcr = rgb_to_ycbcr(rgb, "bt709", full_range=True)
show({"RGB": rgb, "Y'": ycbcr[0], "Cb": ycbcr[1], "Cr": ycbcr[2]}, cmap="gray")

for name, planes in (("R, G, B", rgb), ("Y', Cb, Cr", ycbcr)):
    flat = planes.reshape(3, -1)
    correlation = torch.corrcoef(flat)
    print(f"{name:10}  variance {[round(v, 4) for v in flat.var(dim=1).tolist()]}   "
          f"correlation of the pairs {[round(correlation[i, j].item(), 2) for i, j in ((0, 1), (0, 2), (1, 2))]}")

# %% [markdown] lang="en"
# In RGB the three channels are correlated and about equally strong. After the transform
# they are much less correlated, most of the variance sits in Y', and the chroma planes are
# smooth — they can be coded with fewer samples and fewer bits.
#
# **A conversion must be undone with the same matrix and range.** A decoder that assumes
# BT.601 for a picture converted with BT.709, or limited range for full range, shifts every
# colour. No coding tool makes that back:

# %% [markdown] lang="zh"
# 在 RGB 中三个通道彼此相关，强度也差不多。变换之后相关性小得多，大部分方差集中到 Y'，
# 色度平面则很平滑——它们可以用更少的样本、更少的比特来编码。
#
# **颜色转换必须用同样的矩阵和范围反变换回去。** 若图像按 BT.709 转换，解码端却按 BT.601 理解，
# 或者把全范围当成有限范围（limited range），每一种颜色都会偏移。任何编码工具都补不回这部分损失：

# %%
def to_8bit(x):
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


round_trips = {
    "709 -> 709": ycbcr_to_rgb(ycbcr, "bt709", full_range=True),
    "709 -> 601": ycbcr_to_rgb(ycbcr, "bt601", full_range=True),
    "full -> limited": ycbcr_to_rgb(ycbcr, "bt709", full_range=False),
}
for name, back in round_trips.items():
    print(f"{name:16} PSNR-RGB {psnr_rgb(image, to_8bit(back)):6.2f} dB")
show({name: to_8bit(back) for name, back in round_trips.items()})

# %% [markdown] lang="en"
# Codecs convert with integers, so that every machine gets the same samples:
# `rgb_to_ycbcr_int` uses 20-bit fixed-point coefficients and rounds once. Eight-bit
# Y'CbCr cannot hold every RGB colour exactly, so even the integer round trip loses a little:

# %% [markdown] lang="zh"
# 编码器用整数做颜色转换，这样每台机器得到的样本完全相同：`rgb_to_ycbcr_int` 使用 20 位小数的定点系数，
# 只做一次舍入。8 比特的 Y'CbCr 装不下所有的 RGB 颜色，所以即便是整数往返也会损失一点：

# %%
ycbcr_8bit = rgb_to_ycbcr_int(image, "bt709", full_range=True)      # (3, H, W) uint8
back = ycbcr_to_rgb_int(ycbcr_8bit, "bt709", full_range=True)
error = (back.int() - image.int()).abs()
print(f"integer round trip: PSNR-RGB {psnr_rgb(image, back):.2f} dB, largest error {int(error.max())}, "
      f"{float((error == 0).float().mean()) * 100:.1f} % of the samples exact")

# %% [markdown] lang="en"
# ## 2. Chroma subsampling: 4:2:0
#
# The eye resolves colour much less finely than brightness, so almost every codec keeps one
# Cb and one Cr sample per 2×2 luma samples: **4:2:0**. That is 1.5 samples per pixel
# instead of 3, before any coding. `downsample_chroma` averages each 2×2 block (JPEG's
# "center" siting); `upsample_chroma` interpolates back with a triangle filter.

# %% [markdown] lang="zh"
# ## 2. 色度下采样：4:2:0
#
# 人眼对颜色细节的分辨力远低于对亮度的分辨力，因此几乎所有编码器都只为每 2×2 个亮度样本保留一个 Cb
# 和一个 Cr 样本：这就是 **4:2:0**。还没开始编码，每像素就从 3 个样本降到了 1.5 个。
# `downsample_chroma` 对每个 2×2 块求平均（JPEG 的 "center" 采样位置）；`upsample_chroma`
# 再用三角形滤波器插值回去。

# %%
y, cb, cr = ycbcr_8bit
cb_420, cr_420 = downsample_chroma(cb, 2, 2, "center"), downsample_chroma(cr, 2, 2, "center")
print("planes:", tuple(y.shape), tuple(cb_420.shape), tuple(cr_420.shape),
      "->", (y.numel() + cb_420.numel() + cr_420.numel()) / y.numel(), "samples per pixel")

restored = torch.stack([y, upsample_chroma(cb_420, height, width, "center"),
                        upsample_chroma(cr_420, height, width, "center")])
rgb_420 = ycbcr_to_rgb_int(restored, "bt709", full_range=True)
print(f"4:2:0 round trip: PSNR-RGB {psnr_rgb(image, rgb_420):.2f} dB")

# Siting is part of the format: upsampling as if the samples sat elsewhere costs quality.
wrong_siting = torch.stack([y, upsample_chroma(cb_420, height, width, "topleft"),
                            upsample_chroma(cr_420, height, width, "topleft")])
print(f"same planes, upsampled with the wrong siting: "
      f"{psnr_rgb(image, ycbcr_to_rgb_int(wrong_siting, 'bt709', full_range=True)):.2f} dB")

error_map = (rgb_420.int() - image.int()).abs().sum(dim=0).float()
show({"original": image, "after 4:2:0": rgb_420, "|error| summed over RGB": error_map}, cmap="magma")

# %% [markdown] lang="en"
# The error sits where colour changes sharply — the red feathers against the green
# background — and is nearly invisible at normal viewing size: half the samples removed for
# a loss most viewers never notice.
#
# ## 3. Measuring distortion: PSNR and MS-SSIM
#
# The **PSNR** of a test picture $b$ against a reference $a$ with 8-bit samples is
#
# $$\mathrm{MSE} = \frac{1}{n}\sum_i (a_i - b_i)^2, \qquad
#   \mathrm{PSNR} = 10 \log_{10} \frac{255^2}{\mathrm{MSE}} \ \text{dB}.$$
#
# `psnr_rgb` takes the MSE over all three RGB channels at once (CompressAI's convention).
# PSNR is simple and additive, but blind to *structure*. **MS-SSIM** (Wang, Simoncelli and
# Bovik 2003) compares local means, contrasts and correlations at five scales and is closer
# to what we see. Here are two distortions with the same MSE: fine noise, and a blur.

# %% [markdown] lang="zh"
# 误差集中在颜色急剧变化的地方——红色羽毛与绿色背景的交界——在正常观看尺寸下几乎看不出来：
# 去掉了一半样本，换来的损失大多数观众根本察觉不到。
#
# ## 3. 度量失真：PSNR 与 MS-SSIM
#
# 对 8 比特样本的参考图 $a$ 和待测图 $b$，**PSNR** 定义为
#
# $$\mathrm{MSE} = \frac{1}{n}\sum_i (a_i - b_i)^2, \qquad
#   \mathrm{PSNR} = 10 \log_{10} \frac{255^2}{\mathrm{MSE}} \ \text{dB}.$$
#
# `psnr_rgb` 在 RGB 三个通道上一起求 MSE（CompressAI 的约定）。PSNR 简单、可加，却看不见*结构*。
# **MS-SSIM**（Wang、Simoncelli、Bovik，2003）在五个尺度上比较局部均值、对比度和相关性，更接近人眼的感受。
# 下面是 MSE 相同的两种失真：细密的噪声，和模糊。

# %%
blurred = to_8bit(F.avg_pool2d(rgb[None], 5, stride=1, padding=2, count_include_pad=False)[0])
target_mse = mse(image, blurred)

generator = torch.Generator().manual_seed(1)
noise = torch.randn(image.shape, generator=generator)
noise *= (target_mse / noise.square().mean()) ** 0.5          # the blur's MSE, before rounding
noisy = (image.float() + noise).round().clamp(0, 255).to(torch.uint8)

print(f"by hand: PSNR {10 * torch.log10(255 ** 2 / ((image.float() - blurred.float()) ** 2).mean()):.2f} dB")
for name, test in (("blur", blurred), ("noise", noisy)):
    print(f"{name:6} PSNR-RGB {psnr_rgb(image, test):6.2f} dB   MS-SSIM {ms_ssim_rgb(image, test):.4f}")
show({"original": image, "blur 5x5": blurred, "noise, same MSE": noisy})

# %% [markdown] lang="en"
# Equal PSNR, very different pictures — and MS-SSIM tells them apart (here it prefers the
# blur). Neither metric is "right": report both, as `codeclab bench` does, and look at the
# pictures.
#
# ## 4. Bits per pixel
#
# The rate of a still picture is its file size per pixel, **bpp = 8 · bytes / (W · H)** —
# the bytes of a real file, headers included (`codeclab.eval.metrics.bpp`). Some reference
# points for this picture:

# %% [markdown] lang="zh"
# PSNR 相同，图像却大不一样——而 MS-SSIM 能把它们区分开（这里它更偏爱模糊的那幅）。
# 两个指标都不是"唯一正确"的：像 `codeclab bench` 那样两个都报告，并且亲眼看图。
#
# ## 4. 每像素比特数
#
# 静止图像的码率是每个像素分到的文件大小：**bpp = 8 · 字节数 / (W · H)**——
# 这里的字节数是真实文件的字节数，文件头也算在内（`codeclab.eval.metrics.bpp`）。
# 这幅图的几个参照点：

# %%
jpeg = api.encode_image(image, "jpeg", 75)          # a complete .clb file: container + JPEG
rates = {
    "raw RGB, 8 bits per sample": 3 * 8,
    "raw Y'CbCr 4:2:0": 1.5 * 8,
    "PNG (lossless)": bpp(len(png_bytes(image)), width, height),
    "JPEG quality 75, .clb file": bpp(len(jpeg.data), width, height),
}
for name, rate in rates.items():
    print(f"{name:30} {rate:6.3f} bpp")
print(f"JPEG quality 75: PSNR-RGB {psnr_rgb(image, jpeg.recon):.2f} dB, "
      f"{24 / rates['JPEG quality 75, .clb file']:.0f}x smaller than raw RGB")

# %% [markdown] lang="en"
# Lossless PNG still needs about half the raw rate; a lossy codec at good quality needs a
# tenth of that. The rest of this path is about where those savings come from: transforms
# (chapter 2), entropy coding (chapter 3), prediction (chapters 4 and 5) and learning
# (chapters 6 to 8) — and how to measure them honestly (chapter 9).
#
# ## Exercises
#
# 1. **Raw 10-bit 4:2:0.** How many bits per pixel does an uncompressed 10-bit 4:2:0
#    picture take (each sample stored in exactly 10 bits)? → `raw_10bit_420_bpp`
# 2. **Luma by hand.** Write `luma_bt601(rgb)` that takes a `(3, H, W)` float RGB tensor
#    in [0, 1] and returns the `(H, W)` BT.601 luma, from the formula of section 1.
# 3. **From PSNR to MSE.** Which MSE (8-bit samples) gives exactly 40 dB? → `mse_at_40db`

# %% [markdown] lang="zh"
# 无损的 PNG 仍然需要原始码率的一半左右；质量不错的有损编码只需其十分之一。本教程其余部分讲的就是这些节省从哪里来：
# 变换（第 2 章）、熵编码（第 3 章）、预测（第 4、5 章）和学习（第 6 至 8 章）——以及如何诚实地测量它们（第 9 章）。
#
# ## 练习
#
# 1. **10 比特 4:2:0 原始数据。** 一幅未压缩的 10 比特 4:2:0 图像（每个样本恰好占 10 比特）
#    每像素需要多少比特？→ `raw_10bit_420_bpp`
# 2. **手算亮度。** 写一个函数 `luma_bt601(rgb)`：输入 `(3, H, W)`、取值在 [0, 1] 的浮点 RGB 张量，
#    按第 1 节的公式返回 `(H, W)` 的 BT.601 亮度。
# 3. **从 PSNR 到 MSE。** 8 比特样本下，多大的 MSE 恰好对应 40 dB？→ `mse_at_40db`

# %%
raw_10bit_420_bpp = None   # a number
luma_bt601 = None          # a function (3, H, W) float RGB -> (H, W) luma
mse_at_40db = None         # a number

# %% tags=["solution"]
raw_10bit_420_bpp = 1.5 * 10


def luma_bt601(rgb):
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


mse_at_40db = 255 ** 2 / 10 ** 4

# %%
def grade(name, answer, is_right):
    """Print ✓ for a right answer, · for a missing one; a wrong one raises AssertionError."""
    if answer is None:
        print(f"·  {name}: not answered yet")
        return
    assert is_right(answer), f"{name}: not right yet — see the hint in the exercise"
    print(f"✓  {name}")


grade("raw_10bit_420_bpp", raw_10bit_420_bpp, lambda v: abs(v - 15) < 1e-9)
grade("luma_bt601", luma_bt601,
      lambda fn: torch.allclose(fn(rgb), rgb_to_ycbcr(rgb, "bt601", full_range=True)[0], atol=1e-5))
grade("mse_at_40db", mse_at_40db, lambda v: abs(psnr_from_mse(v) - 40) < 1e-6)
