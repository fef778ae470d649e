# %% [markdown] lang="en"
# # Chapter 3 — Entropy coding
#
# *[中文版](../zh/03_entropy.ipynb) · [all chapters](../README.md)*
#
# The last stage of every codec is lossless: it turns symbols (quantised levels, modes,
# flags) into as few bits as their statistics allow. This chapter goes from Shannon's
# information content to the two coders CodecLab uses, both from `codeclab.entropy`:
#
# 1. information content and entropy — what a model of the data buys;
# 2. Huffman codes, and why they cannot go below one bit per symbol;
# 3. binary arithmetic coding with **adaptive contexts** (CABAC, as in HEVC and VVC);
# 4. HEVC's residual coding replacing the LZMA of chapter 2's toy codec;
# 5. **ANS** with integer CDF tables, the coder of the learned codecs.

# %% [markdown] lang="zh"
# # 第 3 章　熵编码
#
# *[English](../en/03_entropy.ipynb) · [全部章节](../README.md)*
#
# 每个编码器的最后一级都是无损的：它把符号（量化后的电平、模式、标志位）按其统计特性变成尽可能少的比特。
# 本章从香农的信息量讲起，一直讲到 CodecLab 使用的两种编码器，二者都在 `codeclab.entropy` 中：
#
# 1. 信息量与熵——为数据建立模型能换来什么；
# 2. Huffman 码，以及它为什么无法低于每符号 1 比特；
# 3. 带**自适应上下文**的二元算术编码（CABAC，HEVC 和 VVC 中的那种）；
# 4. 用 HEVC 的残差编码取代第 2 章玩具编码器里的 LZMA；
# 5. 使用整数 CDF 表的 **ANS**，即学习型编码器所用的熵编码器。

# %%
from importlib.resources import files
from pathlib import Path
import heapq
import lzma

import matplotlib.pyplot as plt
import numpy as np
import torch

from codeclab.classic import decode_residuals, encode_residuals, forward_transform, quantize
from codeclab.entropy import (BinaryDecoder, BinaryEncoder, CdfTables, contexts_at,
                              decode_symbols, encode_symbols, ideal_adaptive_bits,
                              quantize_pmf)
from codeclab.entropy.bin_coder import encode_bin_stream
from codeclab.io import read_image, rgb_to_ycbcr_int

SAMPLES = Path(str(files("codeclab") / "data" / "samples"))


def luma_of(name: str) -> torch.Tensor:
    return rgb_to_ycbcr_int(read_image(SAMPLES / f"{name}_crop256.png"), "bt601", full_range=True)[0]


def dct_levels(luma: torch.Tensor, qp: int = 32) -> torch.Tensor:
    """Chapter 2's quantised 8x8 DCT levels of a 256x256 luma: (1024 blocks, 8, 8) int32."""
    blocks = luma.int().reshape(32, 8, 32, 8).permute(0, 2, 1, 3).reshape(-1, 8, 8) - 128
    return quantize(forward_transform(blocks), qp, log2n=3)


def entropy(symbols) -> float:
    """Empirical entropy in bits per symbol: -sum p log2 p over the histogram of ``symbols``."""
    _, counts = np.unique(np.asarray(symbols), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())

# %% [markdown] lang="en"
# ## 1. Information content and entropy
#
# An event of probability $p$ carries $-\log_2 p$ bits of information; the **entropy**
# $H = -\sum_s p(s) \log_2 p(s)$ is the least number of bits per symbol any code can achieve
# for symbols drawn independently from $p$ (Shannon 1948). The entropy is a property of a
# *model*: the same picture costs very different amounts depending on what we code.

# %% [markdown] lang="zh"
# ## 1. 信息量与熵
#
# 概率为 $p$ 的事件携带 $-\log_2 p$ 比特的信息；**熵** $H = -\sum_s p(s) \log_2 p(s)$
# 是对按 $p$ 独立抽取的符号，任何编码都能达到的每符号最少比特数（香农 1948）。熵是*模型*的属性：
# 同一幅图，编码的对象不同，代价就大不相同。

# %%
luma = luma_of("kodim05")
differences = luma.int()[:, 1:] - luma.int()[:, :-1]           # predict each sample by its left neighbour
levels = dct_levels(luma)
views = {"luma samples": luma.reshape(-1), "left-neighbour differences": differences.reshape(-1),
         "DCT levels, QP 32": levels.reshape(-1)}

fig, axes = plt.subplots(1, 3, figsize=(13, 3.3))
for ax, (name, symbols) in zip(axes, views.items()):
    values, counts = np.unique(symbols.numpy(), return_counts=True)
    ax.bar(values, counts / counts.sum(), width=1.0)
    ax.set_title(f"{name}: H = {entropy(symbols):.2f} bits")
    ax.set_xlim(-60, 260) if name == "luma samples" else ax.set_xlim(-30, 30)
plt.show()

# %% [markdown] lang="en"
# Raw samples need almost 8 bits each; predicting each sample from its neighbour makes the
# symbols cluster around zero; transform plus quantisation pushes most of them *to* zero.
# A good coder then has to spend well under one bit on the frequent symbol — which is
# exactly what the next section shows Huffman codes cannot do.
#
# ## 2. Huffman codes
#
# Huffman's algorithm (1952) merges the two least probable symbols until one tree remains;
# the depth of a leaf is its code length. It is the best *prefix code*, within one bit of
# the entropy — but every symbol costs at least one whole bit.

# %% [markdown] lang="zh"
# 原始样本每个差不多要 8 比特；用左邻样本预测后，符号聚集在零附近；变换加量化则把大多数符号*变成*零。
# 这时一个好的编码器必须在最常见的符号上花远少于 1 比特——下一节会看到，Huffman 码恰恰做不到这一点。
#
# ## 2. Huffman 码
#
# Huffman 算法（1952）不断合并概率最小的两个符号，直到只剩一棵树；叶子的深度就是它的码长。
# 它是最好的*前缀码*，与熵相差不到 1 比特——但每个符号至少要花整整 1 比特。

# %%
def huffman_lengths(counts: dict) -> dict:
    """Code length of every symbol of a Huffman code built from the symbol counts."""
    if len(counts) == 1:
        return {symbol: 1 for symbol in counts}
    heap = [(count, i, (symbol,)) for i, (symbol, count) in enumerate(counts.items())]
    heapq.heapify(heap)
    lengths = dict.fromkeys(counts, 0)
    while len(heap) > 1:
        count_a, i, group_a = heapq.heappop(heap)
        count_b, _, group_b = heapq.heappop(heap)
        for symbol in group_a + group_b:          # every symbol below the merge gets one bit deeper
            lengths[symbol] += 1
        heapq.heappush(heap, (count_a + count_b, i, group_a + group_b))
    return lengths


def huffman_bits_per_symbol(symbols) -> float:
    values, counts = np.unique(np.asarray(symbols), return_counts=True)
    lengths = huffman_lengths(dict(zip(values.tolist(), counts.tolist())))
    return float(sum(lengths[v] * c for v, c in zip(values.tolist(), counts.tolist())) / counts.sum())


for name, symbols in views.items():
    print(f"{name:28} entropy {entropy(symbols):5.3f}   Huffman {huffman_bits_per_symbol(symbols):5.3f} bits/symbol")

rng = np.random.default_rng(0)
rare_ones = (rng.random(20000) < 0.05).astype(np.int32)      # a flag that is 1 one time in 20
print(f"\nbinary flag, P(1) = 0.05: entropy {entropy(rare_ones):.3f}, "
      f"Huffman {huffman_bits_per_symbol(rare_ones):.3f} bits/symbol")

# %% [markdown] lang="en"
# ## 3. Arithmetic coding with adaptive contexts
#
# An arithmetic coder narrows an interval by the probability of each symbol, so a symbol
# of probability $p$ costs $-\log_2 p$ bits *on average* — fractions of a bit included.
# CodecLab's engine (`codeclab.entropy.cabac`) codes binary decisions, "bins", like VVC:
# each **context** keeps its own estimate of $P(\text{bin}=1)$ and updates it after every
# bin with two exponential moving averages, a fast and a slow one (H.266 §9.3.4.3.2.2).
# So the coder *learns* the statistics while it codes; nothing is transmitted about them.

# %% [markdown] lang="zh"
# ## 3. 带自适应上下文的算术编码
#
# 算术编码器按每个符号的概率收窄一个区间，所以概率为 $p$ 的符号*平均*只花 $-\log_2 p$ 比特——
# 不足 1 比特的零头也算在内。CodecLab 的编码引擎（`codeclab.entropy.cabac`）像 VVC 一样编码二元判决，
# 即"bin"：每个**上下文**各自维护对 $P(\text{bin}=1)$ 的估计，每编码一个 bin 就用快、慢两个指数滑动平均更新一次
# （H.266 §9.3.4.3.2.2）。于是编码器一边编码一边*学习*统计特性，不需要为此传输任何东西。

# %%
contexts = contexts_at(0.5, count=1)                          # one context, starting at p = 1/2
buffer = np.empty(rare_ones.size + 16, dtype=np.uint8)
size = encode_bin_stream(contexts, np.zeros(rare_ones.size, np.int64), rare_ones, buffer)
print(f"{rare_ones.size} bins with P(1) = 0.05: {size} bytes = {8 * size / rare_ones.size:.3f} bits/bin "
      f"(entropy {entropy(rare_ones):.3f}, Huffman 1.000)")

# The same engine, bin by bin from Python, and back: the decoder mirrors every step.
encoder = BinaryEncoder(contexts_at(0.5, count=1))
for b in rare_ones[:1000]:
    encoder.encode_bin(0, int(b))
data = encoder.finish()
decoder = BinaryDecoder(data, contexts_at(0.5, count=1))
decoded = [decoder.decode_bin(0) for _ in range(1000)]
decoder.finish()                                                # checks the end-of-stream pattern
print(f"round trip of 1000 bins in {len(data)} bytes:", decoded == rare_ones[:1000].tolist())

# %% [markdown] lang="en"
# **Adaptation.** Real statistics drift. Below, a flag is rare for 3000 bins and then
# frequent. We follow the context's probability estimate for three window settings
# (`shift_idx` 0: short windows, 8: VVC's default, 15: long windows) and compare the exact
# adaptive cost (`ideal_adaptive_bits`) with the best *static* model for the whole stream.

# %% [markdown] lang="zh"
# **自适应。** 真实的统计特性会漂移。下面这个标志位在前 3000 个 bin 里很少为 1，之后变得频繁。
# 我们跟踪上下文在三种窗口设置下的概率估计（`shift_idx` 为 0：短窗口；8：VVC 的默认值；15：长窗口），
# 并把精确的自适应代价（`ideal_adaptive_bits`）与整个码流上最好的*静态*模型比较。

# %%
drifting = np.concatenate([rng.random(3000) < 0.05, rng.random(3000) < 0.6]).astype(np.int32)
fig, ax = plt.subplots(figsize=(10, 3.5))
for shift_idx in (0, 8, 15):                 # 8 is VVC's default
    encoder = BinaryEncoder(contexts_at(0.5, count=1, shift_idx=shift_idx))
    fast, slow = encoder.contexts[0, 2:]     # a context row is [p0, p1, shift0, shift1]
    name = f"shift_idx {shift_idx}: windows of {2 ** fast} and {2 ** slow} bins"
    estimate = []
    for b in drifting:
        encoder.encode_bin(0, int(b))
        p0, p1 = encoder.contexts[0, :2]
        estimate.append((16 * int(p0) + int(p1)) / 32768)
    fresh = contexts_at(0.5, count=1, shift_idx=shift_idx)
    bits = ideal_adaptive_bits(fresh, np.zeros(drifting.size, np.int64), drifting)
    ax.plot(estimate, linewidth=0.8, label=f"{name}: {bits / drifting.size:.3f} bits/bin")
static = entropy(drifting)
ax.plot([0, 3000, 3000, 6000], [0.05, 0.05, 0.6, 0.6], color="black", linestyle="--", label="true P(1)")
ax.set_xlabel("bin")
ax.set_ylabel("estimated P(1)")
ax.set_title(f"best static model: {static:.3f} bits/bin")
ax.legend(fontsize="small")
plt.show()

# %% [markdown] lang="en"
# **Contexts.** Adaptation learns *one* probability; context modelling keeps *several*, one
# per situation in which the statistics differ. Take the significance flags of chapter 2's
# DCT levels (is the level non-zero?): with a single context the coder sees a flag that is
# 1 about a quarter of the time; with one context per frequency position it learns that the DC
# is nearly always significant and the highest frequencies almost never. Same bins, fewer bits:

# %% [markdown] lang="zh"
# **上下文。** 自适应学的是*一个*概率；上下文建模则保留*多个*概率，每一种统计特性不同的情形各用一个。
# 以第 2 章 DCT 电平的显著性标志（该电平是否非零）为例：只用一个上下文时，编码器看到的是一个大约四分之一时间为 1 的标志；
# 每个频率位置用一个上下文时，它能学到 DC 几乎总是显著的，而最高频几乎从不显著。同样的 bin，更少的比特：

# %%
significant = (levels != 0).reshape(-1).numpy().astype(np.int32)     # block after block, 64 flags each
position = np.tile(np.arange(64), levels.shape[0])
one_context = ideal_adaptive_bits(contexts_at(0.5, count=1), np.zeros_like(position), significant)
per_position = ideal_adaptive_bits(contexts_at(0.5, count=64), position, significant)
print(f"significance flags of {levels.shape[0]} blocks: one context {one_context / 8:.0f} bytes, "
      f"64 contexts (one per frequency) {per_position / 8:.0f} bytes")

# %% [markdown] lang="en"
# ## 4. HEVC residual coding, in place of LZMA
#
# HEVC codes a block of levels with exactly these ideas, refined: the position of the last
# non-zero level, significance flags with contexts chosen by position and neighbourhood,
# "greater than 1" and "greater than 2" flags, signs and remainders as bypass bins with an
# adaptive Rice/Exp-Golomb binarisation (H.265 §7.3.8.11). `encode_residuals` codes a stack
# of blocks into one arithmetic codeword. Against chapter 2's LZMA, on the same levels:

# %% [markdown] lang="zh"
# ## 4. 用 HEVC 的残差编码取代 LZMA
#
# HEVC 正是用这些思想（再加以细化）来编码一块电平的：最后一个非零电平的位置、按位置和邻域选择上下文的显著性标志、
# "大于 1"和"大于 2"标志，以及用自适应 Rice/Exp-Golomb 二值化、以旁路 bin 编码的符号位和余值（H.265 §7.3.8.11）。
# `encode_residuals` 把一叠块编码成一个算术码字。在同样的电平上与第 2 章的 LZMA 比较：

# %%
blocks = levels.numpy()
cabac_bytes = encode_residuals(blocks)
assert (decode_residuals(cabac_bytes, len(blocks), 8) == blocks).all()      # lossless
by_frequency = blocks.reshape(-1, 64).T.astype(np.int16).tobytes()
lzma_bytes = lzma.compress(by_frequency, format=lzma.FORMAT_RAW,
                           filters=[{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}])
print(f"luma levels of kodim05 at QP 32: LZMA {len(lzma_bytes)} bytes, HEVC residual coding (CABAC) "
      f"{len(cabac_bytes)} bytes ({(len(cabac_bytes) / len(lzma_bytes) - 1) * 100:+.0f} %)")

# %% [markdown] lang="en"
# ## 5. ANS and integer CDF tables
#
# Learned codecs code many-valued symbols with a *given* distribution per symbol, which an
# **asymmetric numeral system** (ANS; Duda 2013) does at nearly the entropy and very fast.
# ANS is a stack — the decoder pops symbols in the reverse order of encoding — and it needs
# the probabilities as **integers**: if encoder and decoder computed them in floating point
# on different machines, one rounding difference would derail the decoder. CodecLab's
# tables hold frequencies summing to $2^{24}$ (`quantize_pmf`), with an *escape* entry for
# values outside the table.
#
# Here each of the 64 frequency positions gets a table estimated on two pictures, and codes
# the levels of a third. The cost is the **cross-entropy** between the third picture's
# statistics and the model — a little above its own entropy, because the model was learned
# elsewhere.

# %% [markdown] lang="zh"
# ## 5. ANS 与整数 CDF 表
#
# 学习型编码器要编码多值符号，而且每个符号都有*给定*的分布，**非对称数字系统**（ANS；Duda 2013）
# 能以接近熵的码率、很快地做到这一点。ANS 是一个栈——解码器弹出符号的顺序与编码顺序相反——而且它要求概率是**整数**：
# 如果编码器和解码器在不同的机器上用浮点数计算概率，一次舍入差异就会让解码器走上歧途。
# CodecLab 的表中存放的是总和为 $2^{24}$ 的频数（`quantize_pmf`），外加一个*逃逸*项，用来表示表外的值。
#
# 这里 64 个频率位置各有一张表，由两幅图估计得出，用来编码第三幅图的电平。代价是第三幅图的统计分布与模型之间的
# **交叉熵**——比它自身的熵略高，因为模型是在别处学来的。

# %%
RANGE = 40                                                     # table values -40 .. 40, escape beyond


def frequency_tables(training_levels: torch.Tensor) -> CdfTables:
    """One integer table per frequency position, from counts (+1 so no value is impossible)."""
    per_position = training_levels.reshape(-1, 64).T.numpy()
    tables = []
    for values in per_position:
        counts = np.bincount(np.clip(values, -RANGE - 1, RANGE + 1) + RANGE + 1, minlength=2 * RANGE + 3)
        masses = counts[1:-1] + 1                              # values -RANGE .. RANGE
        escape = counts[0] + counts[-1] + 1
        tables.append(quantize_pmf(np.append(masses, escape)))
    return CdfTables.from_list(tables, offsets=[-RANGE] * 64)


tables = frequency_tables(torch.cat([dct_levels(luma_of("kodim05")), dct_levels(luma_of("kodim23"))]))
test_levels = dct_levels(luma_of("kodim15")).numpy()
indexes = np.broadcast_to(np.arange(64).reshape(1, 8, 8), test_levels.shape)   # table of each symbol
stream = encode_symbols(test_levels, indexes, tables)
assert (decode_symbols(stream, indexes, tables).reshape(test_levels.shape) == test_levels).all()

own_entropy = sum(entropy(test_levels.reshape(-1, 64)[:, k]) for k in range(64)) * test_levels.shape[0] / 8
print(f"kodim15 levels: ANS stream {len(stream)} bytes; model's ideal (cross-entropy) "
      f"{tables.ideal_bits(test_levels, indexes) / 8:.0f} bytes; the picture's own entropy {own_entropy:.0f} bytes")

# %% [markdown] lang="en"
# The stream is within a few bytes of the model's ideal: ANS itself wastes almost nothing.
# What separates the result from the picture's own entropy is the *model*. That is the whole
# game of entropy coding — and chapters 6 and 7 let a neural network learn the model.
#
# ## Exercises
#
# 1. **Entropy.** What is the entropy, in bits per symbol, of a source with probabilities
#    (1/2, 1/4, 1/8, 1/8)? → `entropy_bits`
# 2. **Exp-Golomb.** HEVC codes large remainders with Exp-Golomb codes (order 0: a prefix of
#    ones, a zero, then the suffix bits; H.265 §9.3.3.3). How many bits does the order-0 code
#    of the value 6 have? → `eg0_length_of_6`
# 3. **Cross-entropy.** Write `cross_entropy(p, q)` returning the bits per symbol spent when
#    symbols drawn from the distribution `p` are coded with a model `q` (both numpy arrays
#    over the same alphabet). *Hint:* $-\sum_s p(s)\log_2 q(s)$.

# %% [markdown] lang="zh"
# 码流与模型的理想值只差几个字节：ANS 本身几乎不浪费任何东西。让结果与这幅图自身的熵拉开距离的，是*模型*。
# 这就是熵编码的全部要义——第 6、7 章会让神经网络来学习这个模型。
#
# ## 练习
#
# 1. **熵。** 概率为 (1/2, 1/4, 1/8, 1/8) 的信源，熵是每符号多少比特？→ `entropy_bits`
# 2. **指数哥伦布码。** HEVC 用指数哥伦布码编码较大的余值（0 阶：一串 1 作前缀，一个 0，然后是后缀比特；
#    H.265 §9.3.3.3）。数值 6 的 0 阶码有多少比特？→ `eg0_length_of_6`
# 3. **交叉熵。** 写一个函数 `cross_entropy(p, q)`：当按分布 `p` 抽取的符号用模型 `q` 编码时，返回每符号花费的比特数
#    （`p`、`q` 都是同一字母表上的 numpy 数组）。*提示：* $-\sum_s p(s)\log_2 q(s)$。

# %%
entropy_bits = None      # a number
eg0_length_of_6 = None   # an integer
cross_entropy = None     # a function (p, q) -> float

# %% tags=["solution"]
entropy_bits = 1.75
eg0_length_of_6 = 5      # 6 + 1 = 0b111: two prefix ones, the zero, two suffix bits


def cross_entropy(p, q):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    return float(-(p * np.log2(q)).sum())


# %%
def grade(name, answer, is_right):
    """Print ✓ for a right answer, · for a missing one; a wrong one raises AssertionError."""
    if answer is None:
        print(f"·  {name}: not answered yet")
        return
    assert is_right(answer), f"{name}: not right yet — see the hint in the exercise"
    print(f"✓  {name}")


def cross_entropy_right(fn):
    p = rng.dirichlet(np.ones(6))
    q = rng.dirichlet(np.ones(6))
    kl = float((p * np.log2(p / q)).sum())                    # cross-entropy = entropy + KL divergence
    return abs(fn(p, q) - (-(p * np.log2(p)).sum() + kl)) < 1e-9 and abs(fn(p, p) + (p * np.log2(p)).sum()) < 1e-9


grade("entropy_bits", entropy_bits, lambda h: abs(h - entropy([0, 0, 0, 0, 1, 1, 2, 3])) < 1e-9)
grade("eg0_length_of_6", eg0_length_of_6, lambda n: n == 2 * int(np.log2(6 + 1)) + 1)
grade("cross_entropy", cross_entropy, cross_entropy_right)
