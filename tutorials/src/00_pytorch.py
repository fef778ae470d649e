# %% [markdown] lang="en"
# # Chapter 0 — PyTorch for codec people
#
# *[中文版](../zh/00_pytorch.ipynb) · [all chapters](../README.md)*
#
# Every part of CodecLab, the classic codec as much as the learned ones, is written with
# PyTorch tensors. This chapter teaches the four things the rest of the path relies on,
# each on a real picture:
#
# 1. **tensors** as pictures: layouts, dtypes, slicing, broadcasting, blocks;
# 2. **autograd**: gradients computed for you, checked against the formula;
# 3. **`nn.Module`**: a small network as a Python class;
# 4. **a complete training loop**: dataset and `DataLoader`, loss, optimizer, learning-rate
#    schedule, validation, and saving the best checkpoint. The network learns to remove
#    JPEG's blocking artefacts — a first taste of the neural loop filter of chapter 8.
#
# It runs in well under a minute on a laptop CPU.

# %% [markdown] lang="zh"
# # 第 0 章　给编码人的 PyTorch
#
# *[English](../en/00_pytorch.ipynb) · [全部章节](../README.md)*
#
# CodecLab 的每一部分——经典编码器和基于学习的编码器都一样——都是用 PyTorch 张量写成的。
# 本章讲后面各章都要用到的四件事，每一件都在真实图像上演示：
#
# 1. **张量**即图像：内存布局、数据类型、切片、广播、分块；
# 2. **自动求导（autograd）**：梯度自动算出，并与公式对照；
# 3. **`nn.Module`**：把一个小网络写成 Python 类；
# 4. **完整的训练循环**：数据集与 `DataLoader`、损失函数、优化器、学习率调度、验证，以及保存最好的检查点。
#    网络要学会去除 JPEG 的块效应——这是第 8 章神经网络环路滤波的预演。
#
# 在笔记本电脑的 CPU 上，整章一分钟之内就能跑完。

# %%
from importlib.resources import files
from pathlib import Path
import tempfile

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn

from codeclab import api
from codeclab.eval.metrics import psnr, psnr_rgb
from codeclab.io import read_image, rgb_to_ycbcr
from codeclab.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from codeclab.train.datasets import random_crop, to_unit_float

torch.manual_seed(0)
SAMPLES = Path(str(files("codeclab") / "data" / "samples"))  # the pictures the package ships
TRAINING = Path(str(files("codeclab") / "data" / "training_samples"))  # for training: never Kodak
print(sorted(p.name for p in SAMPLES.iterdir()))

# %% [markdown] lang="en"
# ## 1. A picture is a tensor
#
# `read_image` returns a `(C, H, W)` tensor of `uint8` samples: channels first, then rows,
# then columns — PyTorch's layout, and the one every CodecLab function speaks. Networks want
# floats, so `to_unit_float` divides by 255; a batch of pictures adds a leading dimension,
# `(N, C, H, W)`.

# %% [markdown] lang="zh"
# ## 1. 图像就是张量
#
# `read_image` 返回形状为 `(C, H, W)`、元素类型为 `uint8` 的张量：先通道，再行，再列——这是 PyTorch
# 的布局，也是 CodecLab 所有函数使用的布局。网络需要浮点数，所以 `to_unit_float` 把数值除以 255；
# 一批图像再在最前面加一维，成为 `(N, C, H, W)`。

# %%
image = read_image(SAMPLES / "kodim23_crop256.png")
print("shape", tuple(image.shape), "dtype", image.dtype, "range", int(image.min()), "..", int(image.max()))

x = to_unit_float(image)                 # (3, 256, 256) float32 in [0, 1]
batch = x.unsqueeze(0)                   # (1, 3, 256, 256): what a network takes
patch = x[:, 96:160, 112:176]            # rows 96..159, columns 112..175: a view, no copy
print("batch", tuple(batch.shape), "patch", tuple(patch.shape),
      "shares memory with x:", patch.untyped_storage().data_ptr() == x.untyped_storage().data_ptr())

fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
axes[0].imshow(x.permute(1, 2, 0))       # matplotlib wants (H, W, C)
axes[0].set_title("RGB (3, 256, 256)")
for ax, channel, name in zip(axes[1:], x, "RGB"):
    ax.imshow(channel, cmap="gray", vmin=0, vmax=1)
    ax.set_title(f"channel {name}")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# **Broadcasting** lines shapes up from the right and stretches dimensions of size 1. A
# weighted sum over channels — luma — is one line: the weights get shape `(3, 1, 1)` and
# multiply every pixel. With BT.709's weights it equals the library's colour conversion
# (chapter 1 explains it).
#
# **Blocks** are a reshape: an `(H, W)` plane becomes `(H/8, 8, W/8, 8)`, and a `permute`
# puts the two block indices first. The mean of each block is a picture 8 times smaller —
# a codec that sends only one number per block, the "DC" of chapter 2.

# %% [markdown] lang="zh"
# **广播**从最右边对齐形状，并把长度为 1 的维度拉伸。对通道加权求和——亮度——只要一行：权重的形状是
# `(3, 1, 1)`，与每个像素相乘。用 BT.709 的权重，结果与库里的颜色转换完全相同（第 1 章细讲）。
#
# **分块**就是一次 reshape：`(H, W)` 的平面变成 `(H/8, 8, W/8, 8)`，再用 `permute` 把两个块索引
# 放到前面。每块求均值，得到缩小 8 倍的图像——这相当于每块只传一个数的编码器，也就是第 2 章的"直流（DC）"。

# %%
weights = torch.tensor([0.2126, 0.7152, 0.0722])          # BT.709 Kr, Kg, Kb
luma = (weights[:, None, None] * x).sum(dim=0)            # (3, 1, 1) * (3, H, W) -> sum -> (H, W)
library_luma = rgb_to_ycbcr(x, "bt709", full_range=True)[0]
print("largest difference from the library:", float((luma - library_luma).abs().max()))

blocks = luma.reshape(32, 8, 32, 8).permute(0, 2, 1, 3)   # (block row, block column, 8, 8)
block_means = blocks.mean(dim=(2, 3))                      # (32, 32)
dc_only = block_means.repeat_interleave(8, 0).repeat_interleave(8, 1)
print(f"one number per 8x8 block: PSNR {psnr(luma * 255, dc_only * 255):.2f} dB")

fig, axes = plt.subplots(1, 2, figsize=(8, 4))
axes[0].imshow(luma, cmap="gray")
axes[0].set_title("luma")
axes[1].imshow(dc_only, cmap="gray")
axes[1].set_title("block means (1/64 of the samples)")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# ## 2. Autograd
#
# Mark a tensor with `requires_grad=True`, compute a scalar from it, call `backward()`, and
# PyTorch fills `.grad` with the derivative. Let us *learn* the three luma weights from
# pictures: predict `Y = w · RGB`, measure the mean squared error against the library's
# luma, and follow the gradient
#
# $$L(w) = \frac{1}{P}\sum_p \big(w\cdot x_p - y_p\big)^2, \qquad
#   \frac{\partial L}{\partial w} = \frac{2}{P}\sum_p \big(w\cdot x_p - y_p\big)\,x_p .$$
#
# First we check autograd against that formula, then let an optimizer find the weights.

# %% [markdown] lang="zh"
# ## 2. 自动求导
#
# 给张量设置 `requires_grad=True`，由它算出一个标量，调用 `backward()`，PyTorch 就把导数填进 `.grad`。
# 下面从图像中*学出*三个亮度权重：用 `Y = w · RGB` 做预测，以库函数给出的亮度为目标计算均方误差，
# 然后沿梯度下降：
#
# $$L(w) = \frac{1}{P}\sum_p \big(w\cdot x_p - y_p\big)^2, \qquad
#   \frac{\partial L}{\partial w} = \frac{2}{P}\sum_p \big(w\cdot x_p - y_p\big)\,x_p .$$
#
# 先用这个公式验证自动求导，再让优化器去找这组权重。

# %%
pixels = x.reshape(3, -1).T                     # (P, 3): one row per pixel
target = library_luma.reshape(-1)               # (P,)

w = torch.full((3,), 1 / 3, requires_grad=True)
loss = ((pixels @ w - target) ** 2).mean()
loss.backward()
by_formula = 2 * ((pixels @ w - target)[:, None] * pixels).mean(dim=0)
print("autograd:", w.grad.tolist())
print("formula: ", by_formula.detach().tolist())

optimizer = torch.optim.Adam([w], lr=0.02)
for step in range(300):
    optimizer.zero_grad()
    loss = ((pixels @ w - target) ** 2).mean()
    loss.backward()
    optimizer.step()
print(f"learned weights {[round(v, 4) for v in w.tolist()]}, loss {loss.item():.2e}")

# %% [markdown] lang="en"
# The learned weights land on BT.709's `(0.2126, 0.7152, 0.0722)`: the library's luma is
# exactly such a weighted sum, and gradient descent recovered it from the pixels alone.
#
# ## 3. `nn.Module`
#
# A network is a class: layers are created in `__init__` (their parameters are registered
# automatically) and `forward` says how data flows. This one takes a decoded picture and
# predicts a *correction* that is added to it (a residual network): at initialisation it is
# close to "change nothing", a safe start for a filter.

# %% [markdown] lang="zh"
# 学到的权重正好落在 BT.709 的 `(0.2126, 0.7152, 0.0722)` 上：库中的亮度恰恰就是这样的加权和，
# 梯度下降仅凭像素就把它找了回来。
#
# ## 3. `nn.Module`
#
# 网络就是一个类：在 `__init__` 里创建各层（它们的参数会自动登记），在 `forward` 里写数据怎样流动。
# 下面这个网络输入解码后的图像，预测一个加到它上面的*修正量*（残差网络）：初始化时它近似于
# "什么都不改"，对滤波器来说这是稳妥的起点。

# %%
class ArtifactRemover(nn.Module):
    """x -> x + f(x), with f three 3x3 convolutions (ReLU between them)."""

    def __init__(self, width: int = 16):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 3, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


model = ArtifactRemover()
print(model)
print("trainable parameters:", sum(p.numel() for p in model.parameters() if p.requires_grad))
print("state_dict keys:", list(model.state_dict())[:4], "...")

# %% [markdown] lang="en"
# ## 4. A complete training loop
#
# **Data.** A `Dataset` maps an index to one training example. Ours cuts a random 64×64
# crop from a training picture (`codeclab.train.datasets.random_crop`, with random flips),
# codes it with the library's JPEG anchor at quality 20, and returns the pair
# *(decoded, original)*. Sample `k` uses its own seeded generator, so the data are
# reproducible. A `DataLoader` groups samples into shuffled batches.
#
# Two public-domain photos the package ships for training (`codeclab/data/training_samples`)
# train; a Kodak crop validates. Kodak is the field's evaluation set, so it is never trained
# on: the validation picture is never seen in training. (Real work trains on a folder of
# your own photos, e.g. `../shared/data/train`.)

# %% [markdown] lang="zh"
# ## 4. 完整的训练循环
#
# **数据。** `Dataset` 把一个下标映射成一个训练样本。这里从训练图像中随机裁出 64×64 的块
# （`codeclab.train.datasets.random_crop`，带随机翻转），用库中的 JPEG 锚点以质量 20 编码，
# 返回 *（解码结果，原图）* 这一对。第 `k` 个样本用自己的、带种子的随机数生成器，因此数据可以复现。
# `DataLoader` 再把样本打乱并组成批。
#
# 用随包附带的两幅公有领域照片（`codeclab/data/training_samples`）训练，用一幅 Kodak 裁剪图验证。
# Kodak 是这个领域的评测集，所以从不用它训练：验证图像在训练中从不出现。
# （实际工作应该用你自己的一批照片训练，例如 `../shared/data/train`。）

# %%
JPEG_QUALITY = 20


def jpeg(picture: torch.Tensor) -> torch.Tensor:
    """The picture as the JPEG anchor decodes it at JPEG_QUALITY (uint8, same shape)."""
    return api.encode_image(picture, "jpeg", JPEG_QUALITY).recon


class JpegPatches(torch.utils.data.Dataset):
    """Sample k -> (JPEG-decoded crop, original crop), floats in [0, 1]."""

    def __init__(self, pictures: list[torch.Tensor], crop: int = 64, size: int = 4096, seed: int = 0):
        self.pictures, self.crop, self.size, self.seed = pictures, crop, size, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + k)
        picture = self.pictures[int(torch.randint(len(self.pictures), (), generator=generator))]
        original = random_crop(picture, self.crop, generator)
        return to_unit_float(jpeg(original)), to_unit_float(original)


train_pictures = [read_image(path) for path in sorted(TRAINING.glob("*.png"))]  # not Kodak
validation_picture = read_image(SAMPLES / "kodim15_crop256.png")
validation_jpeg = jpeg(validation_picture)
loader = torch.utils.data.DataLoader(JpegPatches(train_pictures), batch_size=16, shuffle=True)

decoded, original = next(iter(loader))
print("one batch:", tuple(decoded.shape), tuple(original.shape))
print(f"validation picture: JPEG q{JPEG_QUALITY} alone gives {psnr_rgb(validation_picture, validation_jpeg):.2f} dB")

# %% [markdown] lang="en"
# **The loop.** For each batch: forward, loss, `zero_grad`, `backward`, `step`. Around it:
#
# * a **learning-rate schedule** — cosine decay from `2e-3` to almost 0, a step of the
#   scheduler after each optimizer step (CodecLab's own loop uses the same shape, see
#   `codeclab.train.loop.learning_rate`);
# * **validation** every 40 steps on the held-out picture, measured the way a decoder
#   outputs it: filtered, rounded to 8 bits, PSNR over RGB;
# * **the best checkpoint**: whenever validation improves, `save_checkpoint` writes the
#   weights atomically (a crash never leaves half a file) and keeps only the newest one;
#   at the end we load it back with `load_checkpoint`, which reads with
#   `torch.load(weights_only=True)` — a checkpoint cannot run code.

# %% [markdown] lang="zh"
# **循环本身。** 对每一批数据：前向、计算损失、`zero_grad`、`backward`、`step`。在它外面还有：
#
# * **学习率调度**——从 `2e-3` 按余弦曲线衰减到接近 0，每走一步优化器就走一步调度器
#   （CodecLab 自己的训练循环用的是同样的形状，见 `codeclab.train.loop.learning_rate`）；
# * **验证**：每 40 步在留出的图像上做一次，按解码器输出的方式度量：滤波、取整到 8 比特、在 RGB 上算 PSNR；
# * **最好的检查点**：每当验证结果变好，`save_checkpoint` 就以原子方式写下权重（崩溃也不会留下半个文件），
#   并且只保留最新的一个；最后用 `load_checkpoint` 读回来，它用 `torch.load(weights_only=True)` 读取——
#   检查点里不可能藏着可执行的代码。

# %%
def validate(model: nn.Module) -> float:
    """PSNR-RGB of the filtered validation picture, rounded to 8 bits as a decoder would."""
    model.eval()
    with torch.no_grad():
        filtered = model(to_unit_float(validation_jpeg).unsqueeze(0))[0]
    model.train()
    return psnr_rgb(validation_picture, (filtered.clamp(0, 1) * 255).round().to(torch.uint8))


STEPS = 240
model = ArtifactRemover()
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS, eta_min=2e-5)
run_dir = Path(tempfile.mkdtemp(prefix="chapter0_"))

losses, history, best = [], [], -float("inf")
step = 0
while step < STEPS:
    for decoded, original in loader:
        loss = F.mse_loss(model(decoded), original)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        step += 1
        if step % 40 == 0 or step == STEPS:
            score = validate(model)
            history.append((step, score))
            if score > best:
                best = score
                save_checkpoint(run_dir, step, {"model": model.state_dict(), "step": step,
                                                "config": {"width": 16, "jpeg_quality": JPEG_QUALITY},
                                                "validation_psnr": score}, keep=1)
        if step == STEPS:
            break

best_state = load_checkpoint(latest_checkpoint(run_dir))
model.load_state_dict(best_state["model"])
print(f"best checkpoint: step {best_state['step']}, {best_state['validation_psnr']:.2f} dB "
      f"(JPEG alone {psnr_rgb(validation_picture, validation_jpeg):.2f} dB)")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
axes[0].semilogy(losses, linewidth=0.8)
axes[0].set_xlabel("step")
axes[0].set_ylabel("training MSE")
axes[1].plot(*zip(*history), marker="o")
axes[1].axhline(psnr_rgb(validation_picture, validation_jpeg), color="gray", linestyle="--", label="JPEG alone")
axes[1].set_xlabel("step")
axes[1].set_ylabel("validation PSNR-RGB [dB]")
axes[1].legend()
plt.show()

# %% [markdown] lang="en"
# The gain is real but modest: a few thousand parameters trained for a few seconds on two
# small pictures. Look closely (below) and the 8×8 block edges of JPEG are softened.
# Chapter 8 returns to this idea inside a codec, where the encoder can also *tell* the
# decoder when the filter helps — and where the gain has to be paid for in bits.

# %% [markdown] lang="zh"
# 增益是真实的，但不大：几千个参数，在两幅小图上训练了几秒钟。仔细看下图，JPEG 的 8×8 块边界被柔化了。
# 第 8 章会在编码器内部重拾这个想法：那里编码器还能*告诉*解码器滤波在什么地方有用——而增益要用比特来换。

# %%
with torch.no_grad():
    filtered = model(to_unit_float(validation_jpeg).unsqueeze(0))[0].clamp(0, 1)
window = (slice(None), slice(110, 174), slice(150, 214))   # around the eye
fig, axes = plt.subplots(1, 3, figsize=(11, 4))
for ax, picture, title in zip(axes, (to_unit_float(validation_picture), to_unit_float(validation_jpeg), filtered),
                              ("original", f"JPEG q{JPEG_QUALITY}", "JPEG + network")):
    ax.imshow(picture[window].permute(1, 2, 0), interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
plt.show()

# %% [markdown] lang="en"
# ## Exercises
#
# Write your answers in the next cell, replacing each `None`, then run the check cell.
#
# 1. **Block means.** Write `block_means_of(plane, n)` that takes an `(H, W)` tensor (H and
#    W multiples of `n`) and returns the `(H/n, W/n)` tensor of the means of its `n×n` blocks,
#    using `reshape` and `mean` only. *Hint:* section 1.
# 2. **Counting parameters.** How many trainable parameters does `ArtifactRemover(width=32)`
#    have? Work it out by hand: a `k×k` convolution from `a` to `b` channels has
#    `a·b·k² + b` parameters. Put the number in `parameters_width_32`.
# 3. **A gradient by hand.** For the loss `L(g) = mean((g·x − t)²)` with a scalar gain `g`,
#    write `gain_gradient(g, x, t)` returning `dL/dg` as a number, without autograd.

# %% [markdown] lang="zh"
# ## 练习
#
# 在下一个单元格里填入答案（替换每个 `None`），然后运行检查单元格。
#
# 1. **块均值。** 写一个函数 `block_means_of(plane, n)`：输入 `(H, W)` 的张量（H、W 是 `n` 的倍数），
#    返回形状为 `(H/n, W/n)` 的张量，其中每个元素是对应 `n×n` 块的均值；只许用 `reshape` 和 `mean`。
#    *提示：* 见第 1 节。
# 2. **数参数。** `ArtifactRemover(width=32)` 有多少个可训练参数？请手算：从 `a` 个通道到 `b` 个通道的
#    `k×k` 卷积有 `a·b·k² + b` 个参数。把结果填进 `parameters_width_32`。
# 3. **手推梯度。** 对标量增益 `g`，损失为 `L(g) = mean((g·x − t)²)`。写出 `gain_gradient(g, x, t)`，
#    不用自动求导，返回 `dL/dg` 的数值。

# %%
block_means_of = None        # a function (plane, n) -> (H/n, W/n) tensor
parameters_width_32 = None   # an integer
gain_gradient = None         # a function (g, x, t) -> float

# %% tags=["solution"]
def block_means_of(plane, n):
    h, w = plane.shape
    return plane.reshape(h // n, n, w // n, n).mean(dim=(1, 3))


parameters_width_32 = (3 * 32 * 9 + 32) + (32 * 32 * 9 + 32) + (32 * 3 * 9 + 3)


def gain_gradient(g, x, t):
    return float((2 * (g * x - t) * x).mean())


# %%
def grade(name, answer, is_right):
    """Print ✓ for a right answer, · for a missing one; a wrong one raises AssertionError."""
    if answer is None:
        print(f"·  {name}: not answered yet")
        return
    assert is_right(answer), f"{name}: not right yet — see the hint in the exercise"
    print(f"✓  {name}")


def block_means_right(fn):
    plane = torch.rand(24, 40)
    return torch.allclose(fn(plane, 8), F.avg_pool2d(plane[None, None], 8)[0, 0], atol=1e-6)


def gradient_right(fn):
    x, t, g = torch.randn(100), torch.randn(100), torch.tensor(0.7, requires_grad=True)
    ((g * x - t) ** 2).mean().backward()
    return abs(fn(0.7, x, t) - g.grad.item()) < 1e-5


grade("block_means_of", block_means_of, block_means_right)
grade("parameters_width_32", parameters_width_32,
      lambda n: n == sum(p.numel() for p in ArtifactRemover(width=32).parameters()))
grade("gain_gradient", gain_gradient, gradient_right)
