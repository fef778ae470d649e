# %% [markdown] lang="en"
# # Chapter 9 — Evaluating codecs honestly
#
# *[中文版](../zh/09_evaluation.ipynb) · [all chapters](../README.md)*
#
# A codec paper stands on one table of BD-rates. Each number in it hides choices — what was
# counted as the rate, how pictures were averaged, which interpolation, which anchor at which
# settings — and each choice can move the result by more than the improvement being claimed.
# This chapter makes those choices explicit with `codeclab.eval`:
#
# 1. **rates are file sizes**, and what a file contains;
# 2. **averaging** over pictures;
# 3. a benchmark with `codeclab bench`, which checks that every file decodes to the
#    encoder's reconstruction;
# 4. **BD-rate done right**, and the ways it goes wrong;
# 5. **anchors**: the settings of the reference matter as much as the codec under test.

# %% [markdown] lang="zh"
# # 第 9 章　诚实地评测编码器
#
# *[English](../en/09_evaluation.ipynb) · [全部章节](../README.md)*
#
# 一篇编码论文立足于一张 BD-rate 表。表中每个数字背后都藏着选择——码率算的是什么、图像怎样平均、用哪种插值、
# 以哪个锚点在什么设置下作参照——而每一个选择对结果的影响，都可能超过论文声称的那点改进。本章用 `codeclab.eval`
# 把这些选择摆到明处：
#
# 1. **码率就是文件大小**，以及文件里装了什么；
# 2. 在多幅图像上如何**平均**；
# 3. 用 `codeclab bench` 做一次评测，它会检查每个文件解码后都与编码器的重建一致；
# 4. **正确地计算 BD-rate**，以及它出错的各种方式；
# 5. **锚点**：参照编码器的设置与被测编码器本身同样重要。

# %%
from importlib.resources import files
from pathlib import Path
import contextlib
import io
import json
import os

import numpy as np
from IPython.display import Image, Markdown, display
from PIL import Image as PILImage

from codeclab import api
from codeclab.bitstream import container
from codeclab.cli import main as codeclab
from codeclab.eval.bdrate import bd_quality, bd_rate, ms_ssim_db, overlap
from codeclab.eval.metrics import bpp, mse, psnr_from_mse, psnr_rgb
from codeclab.eval.plots import plot_rd
from codeclab.io import read_image

SAMPLES = Path(str(files("codeclab") / "data" / "samples"))
OUT = Path("output")                 # what this chapter writes goes here (git ignores it)
OUT.mkdir(exist_ok=True)
# The 24 Kodak pictures and the yardstick measured on them, where this machine has them.
SHARED_DATA = Path(os.environ.get("CODECLAB_SHARED_DATA", "../../../shared/data"))
pictures = {name: read_image(SAMPLES / f"{name}_crop256.png") for name in ("kodim05", "kodim15", "kodim23")}

# %% [markdown] lang="en"
# ## 1. The rate is the size of a file
#
# Every rate CodecLab reports is `8 · bytes / pixels` of a file on disk. A `.clb` file is a
# container (48 bytes plus the codec's parameter block: size, colour format, codec id, a
# CRC) around the codec's payload — for the JPEG anchor, the complete JPEG file Pillow wrote,
# with its own headers and tables. On a large picture these overheads vanish; on a small
# one they do not:

# %% [markdown] lang="zh"
# ## 1. 码率就是文件的大小
#
# CodecLab 报告的每个码率都是磁盘上某个文件的 `8 · 字节数 / 像素数`。一个 `.clb` 文件是一个容器
# （48 字节再加编码器的参数块：尺寸、颜色格式、编码器编号、CRC）包着编码器的载荷——对 JPEG 锚点来说，
# 载荷就是 Pillow 写出的完整 JPEG 文件，带着它自己的文件头和码表。在大图上这些开销可以忽略，在小图上则不然：

# %%
for size in (256, 64):
    picture = pictures["kodim23"][:, :size, :size].contiguous()
    result = api.encode_image(picture, "jpeg", 50)
    parsed = container.parse(result.data)
    container_bytes = len(result.data) - len(parsed.payload)
    jpeg_headers = parsed.payload.index(b"\xff\xda")          # everything before the start-of-scan marker
    print(f"{size}x{size} JPEG q50: {len(result.data):5d} bytes = {bpp(len(result.data), size, size):.3f} bpp, "
          f"of which container {container_bytes} ({container_bytes / len(result.data) * 100:.1f} %) and "
          f"JPEG headers and tables {jpeg_headers} ({jpeg_headers / len(result.data) * 100:.1f} %)")

# %% [markdown] lang="en"
# State what your rate includes, and never compare an *estimated* rate ($\sum -\log_2 p$,
# chapter 6) with a file size: the estimate omits the headers, the side information and the
# entropy coder's own overhead.
#
# ## 2. Averaging over pictures
#
# A test set is summarised per setting by the **mean of the per-picture values** (CompressAI's
# convention, used by `codeclab bench`): mean bpp and mean PSNR. Other conventions exist —
# the PSNR of the mean MSE, or pooling all pixels — and they give different numbers because
# PSNR is a logarithm (the mean of logs is not the log of the mean):

# %% [markdown] lang="zh"
# ## 2. 在多幅图像上平均
#
# 对一个测试集，每个设置用**各幅图数值的平均**来概括（CompressAI 的约定，`codeclab bench` 也这样做）：平均 bpp 和平均 PSNR。
# 也有别的约定——平均 MSE 再换算成 PSNR，或者把所有像素合在一起——它们给出的数字不同，因为 PSNR 是对数
# （对数的平均不等于平均的对数）：

# %%
errors = {name: mse(picture, api.encode_image(picture, "jpeg", 30).recon) for name, picture in pictures.items()}
for name, error in errors.items():
    print(f"{name}: MSE {error:7.2f}  PSNR {psnr_from_mse(error):.2f} dB")
mean_psnr = np.mean([psnr_from_mse(e) for e in errors.values()])
print(f"mean of the PSNRs:   {mean_psnr:.2f} dB   (CompressAI, codeclab bench)")
print(f"PSNR of the mean MSE: {psnr_from_mse(np.mean(list(errors.values()))):.2f} dB")

# %% [markdown] lang="en"
# Neither is wrong; mixing them is. Compare only numbers computed the same way — which is why
# `codeclab.eval.metrics` computes every number CodecLab reports in one place.
#
# ## 3. A benchmark on the samples
#
# `codeclab bench` encodes every picture at every setting through the same API, writes the
# real `.clb` file, measures its size, **decodes that file and checks that it equals the
# encoder's reconstruction** (a codec whose decoder disagrees with its encoder has not
# coded anything), then scores it. It writes one CompressAI-style JSON per codec, a CSV of
# every point, the RD plot and a report with BD-rates. Here: the classic codec of this
# project against JPEG, WebP and HEIF (HEVC intra by x265) on the three sample crops.

# %% [markdown] lang="zh"
# ## 3. 在示例图上做一次评测
#
# `codeclab bench` 通过同一套 API 在每个设置下编码每幅图像，写出真实的 `.clb` 文件并测量其大小，**解码这个文件并检查它与编码器的重建完全一致**
# （解码器与编码器不一致的编码器，等于什么都没编码），然后打分。它为每个编码器写一个 CompressAI 格式的 JSON、一个包含所有数据点的 CSV、
# 率失真曲线图，以及带 BD-rate 的报告。这里在三幅示例裁剪图上比较本项目的经典编码器与 JPEG、WebP 和 HEIF（由 x265 实现的 HEVC 帧内编码）。

# %%
with contextlib.redirect_stdout(io.StringIO()):           # the report is shown below, as Markdown
    status = codeclab(["bench", "--codecs", "classic,jpeg,webp,heif", "--data", str(SAMPLES), "--out", str(OUT / "bench"),
                       "--reference", "jpeg", "--no-progress", "--qualities", "classic=22,29,36,43"])
print("exit status", status, "(0: every file decoded to the encoder's reconstruction)")
display(Markdown((OUT / "bench" / "report.md").read_text()))

# %%
results = {name: json.loads((OUT / "bench" / f"{name}.json").read_text())["results"]
           for name in ("classic", "jpeg", "webp", "heif")}
Image(filename=str(OUT / "bench" / "rd.png"))

# %% [markdown] lang="en"
# ## 4. BD-rate done right
#
# The Bjøntegaard delta rate (VCEG-M33, 2001) is the mean horizontal gap between two RD
# curves, in log-rate, over the quality range where **both** curves have data:
#
# $$\Delta R = \frac{1}{D_H - D_L}\int_{D_L}^{D_H} \big(\ln R_\text{test}(D) - \ln R_\text{ref}(D)\big)\,dD,
#   \qquad \text{BD-rate} = (e^{\Delta R} - 1)\cdot 100\,\%.$$
#
# Negative means the test codec needs fewer bits for the same quality. Each curve is
# interpolated through its points: the original method fits one cubic polynomial, the
# now-preferred one a monotone piecewise cubic (pchip), which cannot overshoot between
# points. `codeclab.eval.bdrate` implements both, integrated exactly.

# %% [markdown] lang="zh"
# ## 4. 正确地计算 BD-rate
#
# Bjøntegaard 码率差（VCEG-M33，2001）是两条率失真曲线之间在对数码率上的平均水平距离，只在**两条**曲线都有数据的质量区间内计算：
#
# $$\Delta R = \frac{1}{D_H - D_L}\int_{D_L}^{D_H} \big(\ln R_\text{test}(D) - \ln R_\text{ref}(D)\big)\,dD,
#   \qquad \text{BD-rate} = (e^{\Delta R} - 1)\cdot 100\,\%.$$
#
# 负值表示被测编码器在同样的质量下需要更少的比特。每条曲线都要在其数据点之间插值：原始方法拟合一个三次多项式，
# 现在更推荐的是单调分段三次插值（pchip），它在数据点之间不会过冲。`codeclab.eval.bdrate` 两者都实现了，并且精确积分。

# %%
def curve(name, key="psnr-rgb"):
    return results[name]["bpp"], results[name][key]


for name in ("classic", "webp", "heif"):
    lo, hi = overlap(curve("jpeg")[1], curve(name)[1])
    print(f"{name:8} vs jpeg: BD-rate {bd_rate(*curve('jpeg'), *curve(name)):+6.1f} % (pchip), "
          f"{bd_rate(*curve('jpeg'), *curve(name), method='cubic'):+6.1f} % (cubic), "
          f"BD-PSNR {bd_quality(*curve('jpeg'), *curve(name)):+.2f} dB, over [{lo:.1f}, {hi:.1f}] dB")

# %% [markdown] lang="en"
# **Pitfalls**, each shown on these curves:
#
# * **The reference is part of the number.** BD-rate is not symmetric: A against B is not
#   minus B against A.
# * **Only the overlap counts.** Curves that share no quality range have no BD-rate; a
#   tool that extrapolates invents one. The library refuses.
# * **MS-SSIM goes on a dB scale** ($-10\log_{10}(1-\text{MS-SSIM})$) before interpolation,
#   as CompressAI does, or the curves crowd just below 1.
# * **A lossless point** has infinite PSNR and must be cut from the curve before BD-rate.
# * **One bad point moves the number**: a single point measured 1 dB off shifts this BD-rate
#   by several percent, with either interpolation. Use enough points (the cubic fit needs
#   four), spread over the range; pchip and cubic usually agree, and when they do not, look
#   at the curves.

# %% [markdown] lang="zh"
# **陷阱**，每一个都在这几条曲线上演示：
#
# * **参照本身是数字的一部分。** BD-rate 不对称：A 相对 B 的值，不等于 B 相对 A 的值取负号。
# * **只有重叠区间才算数。** 没有共同质量区间的两条曲线没有 BD-rate；外推出来的数字是编造的。这个库会拒绝计算。
# * **MS-SSIM 要先换到 dB 尺度**（$-10\log_{10}(1-\text{MS-SSIM})$）再插值，CompressAI 也是这样做的；否则所有曲线都挤在略低于 1 的地方。
# * **无损点**的 PSNR 是无穷大，算 BD-rate 之前必须把它从曲线上去掉。
# * **一个坏点就能改变结果**：只要有一个点测偏了 1 dB，这里的 BD-rate 就会变动好几个百分点，两种插值都一样。
#   要用足够多、覆盖整个范围的点（三次拟合至少需要四个点）；pchip 和三次拟合通常一致，不一致时，去看曲线。

# %%
print(f"webp vs jpeg {bd_rate(*curve('jpeg'), *curve('webp')):+.1f} %, but jpeg vs webp "
      f"{bd_rate(*curve('webp'), *curve('jpeg')):+.1f} %")

low_jpeg = [q < 30 for q in curve("jpeg")[1]]
high_classic = [q > 33 for q in curve("classic")[1]]
try:
    bd_rate(np.array(curve("jpeg")[0])[low_jpeg], np.array(curve("jpeg")[1])[low_jpeg],
            np.array(curve("classic")[0])[high_classic], np.array(curve("classic")[1])[high_classic])
except ValueError as error:
    print("no overlap:", error)

ssim = {name: (results[name]["bpp"], ms_ssim_db(results[name]["ms-ssim-rgb"])) for name in ("jpeg", "classic")}
print(f"classic vs jpeg on MS-SSIM (dB scale): {bd_rate(*ssim['jpeg'], *ssim['classic']):+.1f} %")

try:
    bd_rate([0.5, 1.0, 8.0], [30.0, 35.0, float("inf")], [0.4, 0.9, 2.0], [30.5, 35.5, 40.0])
except ValueError as error:
    print("lossless point:", error)

rates, quality = (np.array(v) for v in curve("classic"))
off = quality.copy()
off[1] += 1.0                                             # one point measured 1 dB too high
print(f"classic vs jpeg with one point 1 dB off: pchip {bd_rate(*curve('jpeg'), rates, off):+.1f} %, "
      f"cubic {bd_rate(*curve('jpeg'), rates, off, method='cubic'):+.1f} % "
      f"(as measured: {bd_rate(*curve('jpeg'), rates, quality):+.1f} %)")
try:
    bd_rate(*curve("jpeg"), rates[:3], quality[:3], method="cubic")
except ValueError as error:
    print("three points:", error)

# %% [markdown] lang="en"
# ## 5. Anchors and their settings
#
# "Better than JPEG" depends on which JPEG. The library's `jpeg` anchor is Pillow's
# `quality=q`, which subsamples chroma to 4:2:0; the same encoder with `subsampling=0`
# (4:4:4) spends more bits on colour. Measured in PSNR over RGB, the two settings differ by
# more than many published improvements. That is why `codeclab codecs` prints each anchor's
# exact settings and versions, and why a BD-rate table must say which anchor it used.

# %% [markdown] lang="zh"
# ## 5. 锚点及其设置
#
# "比 JPEG 好"取决于是哪个 JPEG。库中的 `jpeg` 锚点是 Pillow 的 `quality=q`，它把色度下采样为 4:2:0；
# 同一个编码器用 `subsampling=0`（4:4:4）时会在颜色上多花比特。以 RGB 上的 PSNR 衡量，这两种设置的差距比许多已发表的改进还大。
# 这就是为什么 `codeclab codecs` 会打印每个锚点的确切设置和版本，也是为什么一张 BD-rate 表必须写明它用的是哪个锚点。

# %%
def jpeg_444(picture, quality):
    """JPEG without chroma subsampling, straight from Pillow: (bytes, decoded picture)."""
    buffer = io.BytesIO()
    PILImage.fromarray(picture.permute(1, 2, 0).numpy()).save(buffer, format="JPEG", quality=quality, subsampling=0)
    decoded = np.asarray(PILImage.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return len(buffer.getvalue()), decoded


qualities = results["jpeg"]["q"]
points = [[jpeg_444(picture, int(q)) for picture in pictures.values()] for q in qualities]
rates_444 = [np.mean([bpp(size, 256, 256) for size, _ in row]) for row in points]
psnr_444 = [np.mean([psnr_rgb(picture.permute(1, 2, 0).numpy(), decoded) for picture, (_, decoded) in
                     zip(pictures.values(), row)]) for row in points]
print(f"JPEG 4:4:4 against the jpeg anchor (4:2:0): BD-rate {bd_rate(*curve('jpeg'), rates_444, psnr_444):+.1f} %")

# %% [markdown] lang="en"
# **The yardstick on Kodak.** Three 256×256 crops are a smoke test, not an evaluation.
# CodecLab's reference measurements on the 24 Kodak pictures live in `../shared/anchors`
# (and `codeclab bench --data PATH/TO/kodak` reproduces them on your machine). Where they
# are present, here they are:

# %% [markdown] lang="zh"
# **Kodak 上的基准尺。** 三幅 256×256 的裁剪图只是冒烟测试，算不上评测。CodecLab 在 24 幅 Kodak 图像上的参照测量结果放在
# `../shared/anchors` 中（`codeclab bench --data PATH/TO/kodak` 可以在你的机器上复现它们）。
# 如果本机有这些数据，结果如下：

# %%
yardstick = SHARED_DATA.parent / "anchors" / "kodak"
if yardstick.is_dir():
    kodak = {name: json.loads((yardstick / f"{name}.json").read_text())
             for name in ("jpeg", "webp", "heif", "hevc-x265", "vvc-vvenc") if (yardstick / f"{name}.json").is_file()}
    for name, doc in kodak.items():
        if name != "jpeg":
            test, reference = doc["results"], kodak["jpeg"]["results"]
            gain = bd_rate(reference["bpp"], reference["psnr-rgb"], test["bpp"], test["psnr-rgb"])
            print(f"Kodak, {name:10} vs jpeg: {gain:+6.1f} % (pchip)")
    plot_rd(kodak, OUT / "kodak_yardstick.png", title="Kodak, 24 pictures (the yardstick)", y_keys=("psnr-rgb",))
    display(Image(filename=str(OUT / "kodak_yardstick.png")))
else:
    print(f"no yardstick at {yardstick}: set CODECLAB_SHARED_DATA to the folder holding kodak/, "
          f"or run codeclab bench on your own copy of Kodak")

# %% [markdown] lang="en"
# ## Checklist
#
# * Rates are sizes of files that **decode**, and the decoder's output is what you score.
# * Say what the file contains (container, headers, side information).
# * One averaging convention for every codec in a table.
# * BD-rate over the overlap only, with the reference named; pchip, and say so.
# * Anchors: name the encoder, its version and every non-default setting.
# * Evaluate on pictures nobody trained on (Kodak is for evaluation only).
#
# ## Exercises
#
# 1. **Bits per pixel.** A 768×512 picture is coded in a file of 24 000 bytes. Its rate? →
#    `rate_bpp`
# 2. **Your own BD-rate.** Compute the pchip BD-rate of WebP against JPEG from the bench's
#    `results` (mind which curve is the reference). → `webp_vs_jpeg`
# 3. **Asymmetry.** Codec A needs 20 % fewer bits than B at every quality
#    (BD-rate −20 %). What is B's BD-rate against A, in percent? → `b_against_a`

# %% [markdown] lang="zh"
# ## 检查清单
#
# * 码率是**能解码**的文件的大小，打分用的是解码器的输出。
# * 写明文件里有什么（容器、文件头、边信息）。
# * 一张表里所有编码器用同一种平均方式。
# * BD-rate 只在重叠区间上计算，写明参照；用 pchip，并说明。
# * 锚点：写明编码器、版本号以及每一项非默认设置。
# * 在没有人用来训练过的图像上评测（Kodak 只用于评测）。
#
# ## 练习
#
# 1. **每像素比特数。** 一幅 768×512 的图像被编码成 24 000 字节的文件，码率是多少？→ `rate_bpp`
# 2. **自己算 BD-rate。** 用评测得到的 `results` 计算 WebP 相对 JPEG 的 pchip BD-rate（注意哪条曲线是参照）。→ `webp_vs_jpeg`
# 3. **不对称性。** 编码器 A 在每个质量下都比 B 少用 20% 的比特（BD-rate −20%）。B 相对 A 的 BD-rate 是百分之多少？→ `b_against_a`

# %%
rate_bpp = None       # a number
webp_vs_jpeg = None   # a number, in percent
b_against_a = None    # a number, in percent

# %% tags=["solution"]
rate_bpp = 8 * 24_000 / (768 * 512)
webp_vs_jpeg = bd_rate(results["jpeg"]["bpp"], results["jpeg"]["psnr-rgb"],
                      results["webp"]["bpp"], results["webp"]["psnr-rgb"])
b_against_a = (1 / 0.8 - 1) * 100

# %%
def grade(name, answer, is_right):
    """Print ✓ for a right answer, · for a missing one; a wrong one raises AssertionError."""
    if answer is None:
        print(f"·  {name}: not answered yet")
        return
    assert is_right(answer), f"{name}: not right yet — see the hint in the exercise"
    print(f"✓  {name}")


def asymmetry_right(value):
    rates_b, quality = np.array([0.5, 1.0, 2.0, 4.0]), np.array([30.0, 33.0, 36.0, 39.0])
    return abs(value - bd_rate(0.8 * rates_b, quality, rates_b, quality)) < 0.1


grade("rate_bpp", rate_bpp, lambda v: abs(v - bpp(24_000, 768, 512)) < 1e-9)
grade("webp_vs_jpeg", webp_vs_jpeg, lambda v: abs(v - bd_rate(*curve("jpeg"), *curve("webp"))) < 0.05)
grade("b_against_a", b_against_a, asymmetry_right)
