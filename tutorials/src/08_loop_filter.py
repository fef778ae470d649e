# %% [markdown] lang="en"
# # Chapter 8 — A neural tool inside a classic codec: the loop filter
#
# *[中文版](../zh/08_loop_filter.ipynb) · [all chapters](../README.md)*
#
# Chapter 0 trained a network to clean up JPEG pictures *after* decoding. Inside a codec the
# same idea becomes a coding tool, with three new obligations:
#
# 1. **The decoder must reproduce it bit for bit.** The filtered picture is the decoded
#    picture (and, in video, the reference for the next ones), so encoder and decoder must
#    compute exactly the same samples on any machine — a float network cannot promise that.
# 2. **It can be switched by the encoder.** The encoder sees the original, so it can decide
#    where the filter helps and signal it; those flags cost bits.
# 3. **Its gain is measured as a codec's gain**: real files (flags included), a decoder
#    that reproduces the encoder, pictures the network never saw, BD-rate over several QPs.
#
# We build such a tool from scratch and plug it into the classic codec through its in-loop
# filter stage (`codeclab.classic.common.tools`), then measure it honestly. At the end, the
# project's own neural loop filter, where this installation has its weights.

# %% [markdown] lang="zh"
# # 第 8 章　经典编码器里的神经网络工具：环路滤波
#
# *[English](../en/08_loop_filter.ipynb) · [全部章节](../README.md)*
#
# 第 0 章训练了一个网络，在解码*之后*清理 JPEG 图像。放进编码器内部，同样的想法就成了一个编码工具，并多出三项义务：
#
# 1. **解码器必须逐比特复现它。** 滤波后的图像就是解码输出（在视频中还是后续帧的参考），所以编码器和解码器在任何机器上都必须算出完全相同的样本——
#    浮点网络做不到这一点。
# 2. **编码器可以开关它。** 编码器看得到原图，因此能判断滤波在哪里有用，并把判断传给解码器；这些标志位要花比特。
# 3. **它的增益要按编码器的增益来测量**：真实的文件（包括标志位）、能复现编码器结果的解码器、网络从未见过的图像、跨多个 QP 的 BD-rate。
#
# 我们从零搭建这样一个工具，通过经典编码器的环路滤波级（`codeclab.classic.common.tools`）把它接进去，然后诚实地测量它。
# 最后，如果本机装有权重，再看看本项目自己的神经网络环路滤波器。

# %%
import json
from importlib.resources import files
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codeclab import api
from codeclab.classic.codec import ClassicCodec
from codeclab.classic.common.tools import register_filter, split_side_info
from codeclab.errors import BitstreamError, CodecLabError
from codeclab.eval.bdrate import bd_rate
from codeclab.eval.metrics import bpp, psnr, psnr_rgb
from codeclab.io import read_image

torch.manual_seed(0)
SAMPLES = Path(str(files("codeclab") / "data" / "samples"))
train_pictures = [read_image(SAMPLES / f"{name}_crop256.png") for name in ("kodim05", "kodim23")]
test_picture = read_image(SAMPLES / "kodim15_crop256.png")          # never used for training
QPS = (32, 37, 42)
CTU = 64

# %% [markdown] lang="en"
# ## 1. The filter stage, and a filter that only watches
#
# In the classic codec, after reconstruction and deblocking, the whole picture passes through
# an optional **picture filter** — the place of HEVC's SAO and VVC's ALF:
#
# ```
# reconstruct ─► deblock ─► picture filter ─► output / reference pictures
#                                 ▲
#                 side information (in the payload)
# ```
#
# A filter is any object with a `tool_id` (one byte in the picture parameters, so a decoder
# knows which filter to run) and two methods: `encode(recon, original, qp, size)` returns the
# filtered planes and the side information, and `decode(recon, qp, side_info, size)` must
# return the same planes. Planes are padded int32 arrays (Y, Cb, Cr), 4:2:0, in whole 64×64
# CTUs; `size` is the picture's (height, width) inside them.
#
# Our first filter changes nothing: it records what it is shown. Coding the two training
# pictures at three QPs with it yields pairs *(deblocked luma, original luma)* — exactly the
# decoder's pictures, which is what a loop filter must learn to improve.

# %% [markdown] lang="zh"
# ## 1. 滤波级，以及一个只看不动的滤波器
#
# 在经典编码器里，重建和去块滤波之后，整幅图像会经过一个可选的**图像滤波器**——它的位置相当于 HEVC 的 SAO 和 VVC 的 ALF：
#
# ```
# 重建 ─► 去块滤波 ─► 图像滤波器 ─► 输出 / 参考图像
#                         ▲
#               边信息（在载荷中）
# ```
#
# 滤波器可以是任何对象，只要有一个 `tool_id`（在图像参数里占一个字节，解码器据此知道该运行哪个滤波器）和两个方法：
# `encode(recon, original, qp, size)` 返回滤波后的各平面和边信息，`decode(recon, qp, side_info, size)` 必须返回同样的平面。
# 各平面是填充过的 int32 数组（Y、Cb、Cr），4:2:0，尺寸为整数个 64×64 的 CTU；`size` 是图像本身在其中的（高，宽）。
#
# 我们的第一个滤波器什么都不改：它只记录看到的东西。用它在三个 QP 下编码两幅训练图，就得到一组组*（去块后的亮度，原始亮度）*——
# 正是解码器输出的图像，也正是环路滤波器要学着去改进的东西。

# %%
class Recorder:
    """A picture filter that changes nothing and keeps (deblocked luma, original luma, QP)."""

    tool_id = 201

    def __init__(self):
        self.pairs = []

    def encode(self, recon, original, qp, size):
        self.pairs.append((recon[0].copy(), original[0].copy(), qp))
        return recon, b""

    def decode(self, recon, qp, side_info, size):
        return recon


watching = ClassicCodec()
watching.picture_filter = Recorder()
for picture in train_pictures:
    for qp in QPS:
        api.encode_image(picture, watching, qp)
pairs = watching.picture_filter.pairs
for deblocked, original, qp in pairs:
    print(f"QP {qp}: deblocked luma {psnr(original, deblocked):.2f} dB, planes {deblocked.shape} {deblocked.dtype}")

# %% [markdown] lang="en"
# ## 2. A small network, told the QP
#
# The network predicts a correction of the luma from its 7×7 neighbourhood (three 3×3
# convolutions). The QP enters as a second input plane: the right amount of smoothing
# depends on how coarsely the picture was quantised, and one network then serves every QP,
# as in the project's own filter and JVET's neural filters. Two pictures are very little
# data, so we augment them with transposed crops and train for a few hundred steps.

# %% [markdown] lang="zh"
# ## 2. 一个知道 QP 的小网络
#
# 网络根据 7×7 的邻域（三层 3×3 卷积）预测亮度的修正量。QP 作为第二个输入平面送进去：该平滑多少，取决于图像量化得有多粗；
# 这样一个网络就能服务所有 QP，本项目自己的滤波器和 JVET 的神经网络滤波器都是这样做的。两幅图是非常少的数据，
# 所以我们用转置的裁剪块做数据增强，训练几百步。

# %%
WIDTH = 16


def network_input(luma: torch.Tensor, qp: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) samples and (N,) QPs -> (N, 2, H, W): (v - 128) / 64 and (QP - 37) / 5."""
    return torch.cat([(luma - 128) / 64, ((qp - 37) / 5).reshape(-1, 1, 1, 1).expand_as(luma)], dim=1)


model = nn.Sequential(nn.Conv2d(2, WIDTH, 3, padding=1), nn.ReLU(),
                      nn.Conv2d(WIDTH, WIDTH, 3, padding=1), nn.ReLU(),
                      nn.Conv2d(WIDTH, 1, 3, padding=1))            # output: correction / 64

deblocked = torch.stack([torch.from_numpy(d).float() for d, _, _ in pairs])[:, None]
originals = torch.stack([torch.from_numpy(o).float() for _, o, _ in pairs])[:, None]
qps = torch.tensor([float(q) for _, _, q in pairs])

STEPS, BATCH, CROP = 500, 16, 32
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS, eta_min=1e-4)
generator = torch.Generator().manual_seed(0)
losses = []
for step in range(STEPS):
    k = torch.randint(len(pairs), (BATCH,), generator=generator)
    top, left = (torch.randint(256 - CROP + 1, (BATCH,), generator=generator) for _ in range(2))
    crops = [(deblocked[i, :, t:t + CROP, l:l + CROP], originals[i, :, t:t + CROP, l:l + CROP])
             for i, t, l in zip(k.tolist(), top.tolist(), left.tolist())]
    inputs, targets = (torch.stack(part) for part in zip(*crops))
    if step % 2:                                                     # augmentation: transposed crops
        inputs, targets = inputs.transpose(2, 3), targets.transpose(2, 3)
    loss = F.mse_loss(model(network_input(inputs, qps[k])) * 64, targets - inputs)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    schedule.step()
    losses.append(loss.item())
print(f"training MSE of the correction: first 50 steps {np.mean(losses[:50]):.1f}, last 50 {np.mean(losses[-50:]):.1f}")

# %% [markdown] lang="en"
# ## 3. Bit-exact inference: integers in floating point
#
# A float convolution sums its products in an order that depends on the library, the vector
# width and the number of threads, and rounding makes the result depend on that order. The
# remedy used by the project's filter (`codeclab.hybrid`) and by JVET's neural filters is
# fixed-point arithmetic: weights become integers $W = \lfloor w\,2^8 + \tfrac12\rfloor$,
# activations integers with 6 fractional bits, each layer
#
# $$A' = \Big\lfloor \frac{\sum W A + B + 2^7}{2^8} \Big\rfloor \quad(\text{then ReLU, and a clip}),$$
#
# and the output is a correction in whole samples. We still run `F.conv2d`, but on float64
# tensors that hold integers: every product and partial sum is an integer far below $2^{53}$,
# so **no addition ever rounds**, and any order of summation gives the same integers.

# %% [markdown] lang="zh"
# ## 3. 逐比特精确的推理：浮点数里的整数
#
# 浮点卷积求和的顺序取决于计算库、向量宽度和线程数，而舍入使结果依赖于这个顺序。本项目的滤波器（`codeclab.hybrid`）和 JVET 的神经网络滤波器用的办法是定点运算：
# 权重变成整数 $W = \lfloor w\,2^8 + \tfrac12\rfloor$，激活值变成带 6 位小数的整数，每一层计算
#
# $$A' = \Big\lfloor \frac{\sum W A + B + 2^7}{2^8} \Big\rfloor \quad(\text{然后 ReLU 并截断}),$$
#
# 输出则是以整数样本为单位的修正量。我们仍然调用 `F.conv2d`，但作用在存放整数的 float64 张量上：每个乘积和部分和都是远小于 $2^{53}$ 的整数，
# 所以**任何一次加法都不会舍入**，无论以什么顺序求和，得到的整数都相同。

# %%
WEIGHT_BITS, ACTIVATION_BITS, ACTIVATION_MAX = 8, 6, 4095


def integer_program(model: nn.Sequential) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(W, B) of each convolution as integers held in float64 (B carries the rounding constant)."""
    program = []
    for conv in (m for m in model if isinstance(m, nn.Conv2d)):
        weight = torch.floor(conv.weight.detach().double() * 2 ** WEIGHT_BITS + 0.5)
        bias = torch.floor(conv.bias.detach().double() * 2 ** (WEIGHT_BITS + ACTIVATION_BITS) + 0.5)
        program.append((weight, bias + 2 ** (WEIGHT_BITS - 1)))
    return program


def integer_correction(program, luma: np.ndarray, qp: int) -> np.ndarray:
    """The network's correction of an (H, W) luma plane, in whole samples, exactly."""
    a = torch.from_numpy(luma).double()[None, None] - 128                       # (v - 128) / 64, 6 fraction bits
    q = torch.full_like(a, float(np.floor((qp - 37) / 5 * 2 ** ACTIVATION_BITS + 0.5)))
    a = torch.cat([a, q], dim=1)
    for i, (weight, bias) in enumerate(program):
        a = torch.floor(F.conv2d(a, weight, bias, padding=1) / 2 ** WEIGHT_BITS)
        if i < len(program) - 1:
            a = a.clamp(0, ACTIVATION_MAX)                                       # ReLU, and a bound
    return a[0, 0].numpy().astype(np.int32)             # correction / 64 with 6 fraction bits = samples


program = integer_program(model)
luma, original, qp = pairs[4]
exact = np.clip(luma + integer_correction(program, luma, qp), 0, 255)
with torch.no_grad():
    float_luma = (torch.from_numpy(luma).float() + model(network_input(torch.from_numpy(luma).float()[None, None],
                                                                       torch.tensor([float(qp)])))[0, 0] * 64)
print(f"QP {qp}: deblocked {psnr(original, luma):.3f} dB, "
      f"float network {psnr(original, float_luma.round().clamp(0, 255)):.3f} dB, "
      f"integer program {psnr(original, exact):.3f} dB")
threads = torch.get_num_threads()
runs = []
for count in (1, 2):
    torch.set_num_threads(count)
    runs.append(integer_correction(program, luma, qp))
torch.set_num_threads(threads)
print("same integers with 1 and 2 threads:", np.array_equal(*runs))

# %% [markdown] lang="en"
# ## 4. The coding tool: the encoder switches it per CTU
#
# The encoder filters the luma, then for every 64×64 CTU keeps whichever of *filtered* and
# *unfiltered* is closer to the original, and sends that choice as one flag. Every flag
# costs the same bit, so the rate-distortion decision $D + \lambda R$ reduces to comparing the
# two errors. The side information is one byte (0: filter off everywhere, no flags; 1: flags
# follow) and the flags packed eight to a byte. The decoder checks the length and the unused
# bits: damaged side information is a `BitstreamError`, never a wrong picture.

# %% [markdown] lang="zh"
# ## 4. 编码工具：编码器逐个 CTU 开关它
#
# 编码器先对亮度滤波，然后对每个 64×64 的 CTU，在*滤波后*和*未滤波*之间保留更接近原图的那个，并用一个标志位传出这个选择。
# 每个标志位的代价都是同样的 1 比特，所以率失真决策 $D + \lambda R$ 就化为比较两个误差。边信息是一个字节（0：处处关闭，没有标志位；1：后面跟着标志位），
# 再加上每字节打包八个的标志位。解码器检查长度和未用的比特位：边信息损坏就是 `BitstreamError`，绝不会输出一幅错的图。

# %%
def ctu_errors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sum of squared differences of each 64x64 CTU: (rows, cols)."""
    d = (a.astype(np.int64) - b.astype(np.int64)) ** 2
    return d.reshape(d.shape[0] // CTU, CTU, d.shape[1] // CTU, CTU).sum(axis=(1, 3))


def apply_flags(luma: np.ndarray, filtered: np.ndarray, flags: np.ndarray) -> np.ndarray:
    mask = np.kron(flags, np.ones((CTU, CTU), dtype=bool))
    return np.where(mask, filtered, luma).astype(np.int32)


class TutorialLoopFilter:
    """A QP-conditioned CNN on luma, in integer arithmetic, switched per CTU (tool id 200)."""

    tool_id = 200

    def __init__(self, program):
        self.program = program

    def filtered(self, luma: np.ndarray, qp: int) -> np.ndarray:
        return np.clip(luma + integer_correction(self.program, luma, qp), 0, 255).astype(np.int32)

    def encode(self, recon, original, qp, size):
        luma = recon[0]
        filtered = self.filtered(luma, qp)
        flags = ctu_errors(filtered, original[0]) < ctu_errors(luma, original[0])
        side_info = (bytes([1]) + np.packbits(flags.reshape(-1)).tobytes()) if flags.any() else bytes([0])
        return (apply_flags(luma, filtered, flags), recon[1], recon[2]), side_info

    def decode(self, recon, qp, side_info, size):
        luma = recon[0]
        shape = (luma.shape[0] // CTU, luma.shape[1] // CTU)
        count = shape[0] * shape[1]
        if side_info == bytes([0]):
            return recon
        if len(side_info) != 1 + (count + 7) // 8 or side_info[0] != 1:
            raise BitstreamError("tutorial loop filter: side information of the wrong size or kind")
        bits = np.unpackbits(np.frombuffer(side_info[1:], dtype=np.uint8))
        if bits[count:].any():
            raise BitstreamError("tutorial loop filter: padding bits are not zero")
        flags = bits[:count].reshape(shape).astype(bool)
        return (apply_flags(luma, self.filtered(luma, qp), flags), recon[1], recon[2])


# A decoder finds the filter by the id in the stream; the factory gives it one.
register_filter(TutorialLoopFilter.tool_id, lambda: TutorialLoopFilter(program))
filtering = ClassicCodec()
filtering.picture_filter = TutorialLoopFilter(program)

# %% [markdown] lang="en"
# ## 5. Measuring the gain
#
# On the test picture, which neither the network nor its flags' statistics have seen, at
# each QP: the plain classic codec, and the classic codec with our tool. Rates are the sizes
# of the complete `.clb` files — the filter's side information, its framing in the payload
# and its id byte included. Each file is decoded with `api.decode`, which finds the filter
# through its id, and the result must equal the encoder's reconstruction.

# %% [markdown] lang="zh"
# ## 5. 测量增益
#
# 在测试图上——网络和它的标志位统计都没见过这幅图——对每个 QP 分别运行原始的经典编码器和带上我们这个工具的经典编码器。
# 码率是完整 `.clb` 文件的大小——滤波器的边信息、它在载荷中的封装以及它的编号字节都算在内。每个文件都用 `api.decode` 解码
# （它通过编号找到滤波器），结果必须与编码器的重建完全一致。

# %%
curves = {"classic": {"bpp": [], "psnr-rgb": [], "bytes": []},
          "classic + tutorial filter": {"bpp": [], "psnr-rgb": [], "bytes": []}}
coded = {}
for qp in QPS:
    for name, codec in (("classic", "classic"), ("classic + tutorial filter", filtering)):
        result = coded[name, qp] = api.encode_image(test_picture, codec, qp)
        decoded = api.decode(result.data)
        assert torch.equal(decoded, result.recon), "the decoder must reproduce the encoder"
        curves[name]["bytes"].append(len(result.data))
        curves[name]["bpp"].append(bpp(len(result.data), 256, 256))
        curves[name]["psnr-rgb"].append(psnr_rgb(test_picture, decoded))
    plain, tool = curves["classic"], curves["classic + tutorial filter"]
    print(f"QP {qp}: classic {plain['bytes'][-1]} bytes {plain['psnr-rgb'][-1]:.3f} dB; with the tool "
          f"{tool['bytes'][-1] - plain['bytes'][-1]:+d} bytes, {tool['psnr-rgb'][-1] - plain['psnr-rgb'][-1]:+.3f} dB")

base, tool = curves["classic"], curves["classic + tutorial filter"]
print(f"BD-rate of the tool: {bd_rate(base['bpp'], base['psnr-rgb'], tool['bpp'], tool['psnr-rgb']):+.2f} % "
      f"(negative: bits saved at equal quality)")

# %% [markdown] lang="en"
# Where did the encoder switch it on? The flags of the QP 37 picture, read back from the
# side information as the decoder reads them:

# %% [markdown] lang="zh"
# 编码器在哪里打开了它？下面是 QP 37 那幅图的标志位，按解码器的方式从边信息中读回：

# %%
result = coded["classic + tutorial filter", 37]
_, side_info = split_side_info(api.read_header(result.data)[0].payload)
flags = (np.unpackbits(np.frombuffer(side_info[1:], dtype=np.uint8))[:16].reshape(4, 4)
         if side_info[0] else np.zeros((4, 4), dtype=bool))
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.imshow(result.recon.permute(1, 2, 0))
on = np.kron(flags, np.ones((CTU, CTU), dtype=bool))
ax.imshow(np.ma.masked_where(~on, on), cmap="summer", alpha=0.4)        # shade the CTUs filtered
ax.set_title(f"QP 37: filter on in {int(flags.sum())} of 16 CTUs (green)")
ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# The measured gain of a network trained for seconds on two pictures is small, and the bytes
# of side information eat part of it at low rates — which is exactly why a gain must be
# measured this way and not as "PSNR of the filtered picture". What the numbers would need
# to become convincing: more training data, a test set of many pictures (Kodak, not three
# crops), chroma, and a tool that codes its flags with an adaptive context.
#
# ## 6. The project's neural loop filter
#
# CodecLab's own filter (`codeclab.hybrid`, codec `classic-nn`) is the grown-up version of
# this chapter: an integer CNN on all three components, trained on the project's training
# photographs with quantisation-aware training, switched per CTU and component with
# CABAC-coded flags. Where
# this installation has its weights, here is its gain on the test picture:

# %% [markdown] lang="zh"
# 一个在两幅图上只训练了几秒钟的网络，测得的增益很小，而且在低码率下边信息的字节还要吃掉其中一部分——这正是为什么增益必须这样测，而不能只看"滤波后图像的 PSNR"。
# 要让数字变得令人信服，还需要：更多的训练数据、由许多图像组成的测试集（Kodak，而不是三幅裁剪图）、处理色度，以及用自适应上下文编码标志位。
#
# ## 6. 本项目的神经网络环路滤波器
#
# CodecLab 自己的滤波器（`codeclab.hybrid`，编码器名为 `classic-nn`）是本章的"成年版"：一个作用于全部三个分量的整数 CNN，
# 用量化感知训练在项目的训练照片上训练，按 CTU 和分量开关，标志位用 CABAC 编码。如果本机装有它的权重，下面是它在测试图上的增益：

# %%
try:
    shipped = {"bpp": [], "psnr-rgb": []}
    for qp in QPS:
        result = api.encode_image(test_picture, "classic-nn", qp)
        decoded = api.decode(result.data)
        assert torch.equal(decoded, result.recon)
        shipped["bpp"].append(bpp(len(result.data), 256, 256))
        shipped["psnr-rgb"].append(psnr_rgb(test_picture, decoded))
    print(f"classic-nn against classic on the test picture: BD-rate "
          f"{bd_rate(base['bpp'], base['psnr-rgb'], shipped['bpp'], shipped['psnr-rgb']):+.2f} %")
except CodecLabError as error:
    print(f"the neural loop filter is not available in this installation: {error}")

# %% [markdown] lang="en"
# One 256×256 picture is not a test set. The filter's model card records how its weights were
# trained and what they score on all 24 Kodak pictures (real file sizes, measured by
# `codeclab bench --codecs classic,classic-nn --reference classic`):

# %% [markdown] lang="zh"
# 一幅 256×256 的图算不上测试集。滤波器的模型卡记录了权重是怎样训练的，以及它在全部 24 幅 Kodak 图像上的得分
# （真实文件大小，由 `codeclab bench --codecs classic,classic-nn --reference classic` 测得）：

# %%
card_path = files("codeclab") / "data" / "weights" / "nnlf.json"
card = json.loads(card_path.read_text()) if card_path.is_file() else {}
print(f"{card.get('parameters', '?')} parameters, {card.get('kmac_per_luma_sample', '?')} kMAC per luma sample")
for row in card.get("evaluation", {}).get("bd_rate", []):
    if row.get("PSNR pchip") is not None:
        print(f"{row['codec']} against {card['evaluation']['reference']} on "
              f"{card['evaluation']['meta'].get('items', '?')} Kodak pictures: "
              f"BD-rate PSNR-RGB {row['PSNR pchip']:+.2f} %")

# %% [markdown] lang="en"
# ## Exercises
#
# 1. **Flag cost.** How many bytes of flags (one bit per 64×64 CTU, packed eight to a byte)
#    does our tool send for a 768×512 picture when the filter is on somewhere? →
#    `flag_bytes_768x512`
# 2. **From decibels to bits.** A tool raises PSNR by exactly 0.1 dB at every rate, on RD
#    curves that gain 6 dB per doubling of the rate. What is its BD-rate, in percent? →
#    `bd_rate_of_a_tenth_db`
# 3. **Damage.** Which exception must `TutorialLoopFilter.decode` raise for side information
#    whose first byte is 7? Give the class itself. → `damage_exception`

# %% [markdown] lang="zh"
# ## 练习
#
# 1. **标志位的代价。** 对一幅 768×512 的图像，只要有地方打开了滤波，我们的工具要发送多少字节的标志位（每个 64×64 CTU 一比特，每字节打包八个）？→ `flag_bytes_768x512`
# 2. **从分贝到比特。** 某个工具在每个码率下都把 PSNR 恰好提高 0.1 dB，而率失真曲线每当码率翻倍就提高 6 dB。它的 BD-rate 是百分之多少？→ `bd_rate_of_a_tenth_db`
# 3. **损坏。** 如果边信息的第一个字节是 7，`TutorialLoopFilter.decode` 必须抛出哪种异常？请给出异常类本身。→ `damage_exception`

# %%
flag_bytes_768x512 = None      # an integer
bd_rate_of_a_tenth_db = None   # a number, in percent
damage_exception = None        # an exception class

# %% tags=["solution"]
flag_bytes_768x512 = (768 // 64) * (512 // 64) // 8
bd_rate_of_a_tenth_db = (2 ** (-0.1 / 6) - 1) * 100
damage_exception = BitstreamError

# %%
def grade(name, answer, is_right):
    """Print ✓ for a right answer, · for a missing one; a wrong one raises AssertionError."""
    if answer is None:
        print(f"·  {name}: not answered yet")
        return
    assert is_right(answer), f"{name}: not right yet — see the hint in the exercise"
    print(f"✓  {name}")


def tenth_db_right(value):
    rates = np.array([0.25, 0.5, 1.0, 2.0])
    quality = 30 + 6 * np.log2(rates)
    return abs(value - bd_rate(rates, quality, rates, quality + 0.1)) < 0.01


def damage_right(exception):
    planes = tuple(np.zeros(s, np.int32) for s in ((128, 128), (64, 64), (64, 64)))
    try:
        TutorialLoopFilter(program).decode(planes, 37, bytes([7, 0]), (128, 128))
    except Exception as raised:
        return type(raised) is exception
    return False


grade("flag_bytes_768x512", flag_bytes_768x512, lambda n: n == len(np.packbits(np.zeros(12 * 8, dtype=bool))))
grade("bd_rate_of_a_tenth_db", bd_rate_of_a_tenth_db, tenth_db_right)
grade("damage_exception", damage_exception, damage_right)
