"""The picture filter: RDO switches it off where it hurts, its side information round-trips,
and damaged side information is a BitstreamError, never a crash."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from codeclab.classic.common.tools import filter_for_id
from codeclab.errors import BitstreamError
from codeclab.hybrid.nnlf.encoder import choose_mode, ctu_sse, write_side_info
from codeclab.hybrid.nnlf.integer import program_fingerprint
from codeclab.hybrid.nnlf.runtime import filter_planes
from codeclab.hybrid.nnlf.syntax import (HEAD_BYTES, NEURAL_FILTER_ID, OFF, ON, PER_CTU, SCALES, ctu_select,
                                         read_side_info)
from codeclab.hybrid.nnlf.tool import NeuralLoopFilter
from codeclab.hybrid.nnlf.training.network import integer_program

from .conftest import random_network

#: The coded crop fills its CTUs: no padding.
SIZE = (128, 128)


class ProgramFilter(NeuralLoopFilter):
    """The filter with the test's program instead of the shipped weights."""

    def __init__(self, program):
        super().__init__()
        self._program = program

    @property
    def program(self):
        return self._program


def test_tool_id_1_is_the_neural_filter():
    assert isinstance(filter_for_id(NEURAL_FILTER_ID), NeuralLoopFilter)


def test_ctu_sse_and_select():
    a = np.arange(128 * 64, dtype=np.int32).reshape(64, 128) % 7
    b = np.zeros_like(a)
    sse = ctu_sse(a, b, 32)
    assert sse.shape == (2, 4) and sse.sum() == (a.astype(np.int64) ** 2).sum()
    flags = np.array([[1, 0, 0, 1], [0, 1, 1, 0]])
    chosen = ctu_select(b, a, flags, 32)
    assert (chosen[:32, :32] == a[:32, :32]).all() and (chosen[:32, 32:64] == 0).all()


def test_modes_follow_the_distortions():
    helps, hurts = np.full(12, 100.0), np.full(12, 50.0)
    assert choose_mode(helps, hurts, 10.0, 0)[0] == ON
    assert choose_mode(hurts, helps, 10.0, 0)[0] == OFF
    mixed_on = np.where(np.arange(12) % 2 == 0, 0.0, 500.0)
    mode, flags, cost = choose_mode(np.full(12, 250.0), mixed_on, 10.0, 0)
    assert mode == PER_CTU and flags.tolist() == [1, 0] * 6 and 6 * 250 < cost < 6 * 250 + 10 * 30
    # A gain smaller than the flags' cost is not worth signalling per CTU.
    tiny = np.full(12, 100.0) - np.where(np.arange(12) % 2 == 0, 0.5, 0.0)
    assert choose_mode(np.full(12, 100.0), tiny, 100.0, 0)[0] != PER_CTU


@pytest.mark.parametrize("modes", [m for m in itertools.product((OFF, ON, PER_CTU), repeat=3)])
def test_side_info_round_trip(modes):
    rng = np.random.default_rng(sum(modes))
    count = 12
    flags = [rng.integers(0, 2, count).astype(np.int32) if m == PER_CTU else np.full(count, m, np.int32)
             for m in modes]
    scales = [int(rng.choice(SCALES)) if m != OFF else SCALES[0] for m in modes]
    data = write_side_info(0xABCD1234, list(modes), scales, flags)
    expected = 1 if not any(modes) else HEAD_BYTES if PER_CTU not in modes else None
    assert len(data) == expected if expected else len(data) > HEAD_BYTES
    got_modes, got_scales, got_flags = read_side_info(data, 0xABCD1234, count)
    assert got_modes == list(modes) and all(np.array_equal(a, b) for a, b in zip(got_flags, flags))
    assert [s for s, m in zip(got_scales, modes) if m != OFF] == [s for s, m in zip(scales, modes) if m != OFF]


def test_damaged_side_info_is_a_bitstream_error():
    flags = [np.array([1, 0, 1, 1, 0, 1], np.int32), np.ones(6, np.int32), np.zeros(6, np.int32)]
    data = write_side_info(7, [PER_CTU, ON, OFF], [8, 5, 4], flags)
    damaged = [b"", data[:3], data[:HEAD_BYTES],  # truncated
               bytes([data[0] | 0x40]) + data[1:],  # a mode bit past the three components
               bytes([data[0] | 0x30]) + data[1:],  # mode 3
               data[:1] + b"\x00\x08" + data[3:],  # other weights
               data[:3] + b"\x80" + data[4:],  # a scale bit past the three components
               data[:4] + bytes([data[4] | 0x40]) + data[5:],  # a scale on a component that is off
               data + b"\x00", write_side_info(7, [ON, ON, ON], [8, 8, 8], flags) + b"\x01",
               b"\x00\x00"]  # bytes after an all-off picture
    for bad in damaged:
        with pytest.raises(BitstreamError):
            read_side_info(bad, 7, 6)
    # Flipping any bit of the codeword decodes to other flags or fails cleanly: never a crash.
    for i in range(HEAD_BYTES, len(data)):
        for bit in range(8):
            bad = bytearray(data)
            bad[i] ^= 1 << bit
            try:
                read_side_info(bytes(bad), 7, 6)
            except BitstreamError:
                pass


def test_flags_switch_the_filter_off_where_it_hurts(program, coded_crop):
    """Where the original equals the reconstruction, any filtering only adds error: the
    encoder must keep those CTUs unfiltered and filter the others where that helps."""
    original, recon, qp = coded_crop
    filtered = filter_planes(program, *recon, qp)
    perfect = original[0].copy()
    perfect[:64, :] = recon[0][:64, :]  # the top CTU row is already perfect
    cut = (perfect, recon[1], recon[2])  # and so are both chroma planes
    loop_filter = ProgramFilter(program)
    planes, side_info = loop_filter.encode(recon, cut, qp, SIZE)
    modes, _, flags = read_side_info(side_info, program_fingerprint(program), 4)
    assert modes[1] == OFF and modes[2] == OFF
    assert np.array_equal(planes[1], recon[1]) and np.array_equal(planes[0][:64], recon[0][:64])
    assert flags[0][:2].tolist() == [0, 0]
    sse = lambda p: ctu_sse(p, perfect, 64)
    assert (sse(planes[0]) <= sse(recon[0])).all()
    assert np.array_equal(loop_filter.decode(recon, qp, side_info, SIZE)[0], planes[0])
    assert not np.array_equal(filtered[0][:64], recon[0][:64])  # the network did change that row


def test_decoder_refuses_side_info_of_other_weights(program, coded_crop):
    _, recon, qp = coded_crop
    loop_filter = ProgramFilter(program)
    target = filter_planes(program, *recon, qp)  # a picture the filter restores perfectly
    _, side_info = loop_filter.encode(recon, target, qp, SIZE)
    assert side_info[0] == ON | ON << 2 | ON << 4, "every component should be filtered everywhere"
    other = side_info[:1] + bytes([side_info[1] ^ 1]) + side_info[2:]
    with pytest.raises(BitstreamError, match="other filter weights"):
        loop_filter.decode(recon, qp, other, SIZE)


def test_a_picture_left_alone_costs_one_byte_and_needs_no_weights(program, coded_crop):
    """When filtering would not pay for its 5-byte header, the encoder leaves the picture alone:
    one byte of side information, no fingerprint, and any decoder returns the planes untouched."""
    _, recon, qp = coded_crop
    loop_filter = ProgramFilter(program)
    planes, side_info = loop_filter.encode(recon, recon, qp, SIZE)  # nothing to restore
    assert side_info == b"\x00" and all(np.array_equal(p, r) for p, r in zip(planes, recon))
    other = integer_program(random_network(coded_crop, seed=1))
    assert program_fingerprint(other) != program_fingerprint(program)
    decoded = ProgramFilter(other).decode(recon, qp, side_info, SIZE)
    assert all(np.array_equal(p, r) for p, r in zip(decoded, recon))


def test_padding_beyond_the_picture_is_neither_seen_nor_counted(program, coded_crop):
    """A video encoder leaves the padding of CTUs that stick out of the picture uncoded: what
    it holds must change neither the decisions nor the picture (the filter repeats the edge
    samples, and measures its distortion inside the picture only)."""
    original, recon, qp = coded_crop
    size = (100, 90)  # the picture; the rest of the 128x128 planes is padding
    loop_filter = ProgramFilter(program)
    results = []
    for fill in (0, 255):
        padded = []
        for plane, (h, w) in zip(recon, ((100, 90), (50, 45), (50, 45))):
            plane = plane.copy()
            plane[h:], plane[:, w:] = fill, fill
            padded.append(plane)
        planes, side_info = loop_filter.encode(tuple(padded), original, qp, size)
        decoded = loop_filter.decode(tuple(padded), qp, side_info, size)
        assert all(np.array_equal(a[:h, :w], b[:h, :w])
                   for a, b, (h, w) in zip(planes, decoded, ((100, 90), (50, 45), (50, 45))))
        results.append((side_info, [p[:h, :w] for p, (h, w) in zip(planes, ((100, 90), (50, 45), (50, 45)))]))
    assert results[0][0] == results[1][0]
    assert all(np.array_equal(a, b) for a, b in zip(results[0][1], results[1][1]))
