"""Classic sequences end to end: low-delay P coding decodes bit-exactly, picture by picture."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest
import torch

from codeclab import api
from codeclab.bitstream import container
from codeclab.bitstream.bits import uleb128
from codeclab.classic.codec import ClassicCodec
from codeclab.classic.common.parameters import SequenceParams
from codeclab.classic.common.sequence import split_records
from codeclab.classic.decoder.sequence import decode_video
from codeclab.classic.encoder import sequence
from codeclab.errors import BitstreamError, InputError, UnsupportedError
from codeclab.io.video import Video
from codeclab.io.y4m import read_y4m


def frame_md5s(video) -> list[str]:
    return [hashlib.md5(b"".join(p.contiguous().numpy().tobytes() for p in video.planes(t))).hexdigest()
            for t in range(video.num_frames)]


def psnr_y(a, b) -> float:
    mse = ((a.y.double() - b.y.double()) ** 2).mean().item()
    return 10 * np.log10(255 ** 2 / mse)


@pytest.fixture(scope="module")
def clip(sample_y4m_path):
    return read_y4m(sample_y4m_path)  # 10 frames of carphone, 176x144


@pytest.fixture(scope="module")
def encodings(clip):
    return {qp: api.encode_video(clip, "classic", qp, intra_period=4) for qp in (22, 37)}


@pytest.mark.parametrize("qp", [22, 37])
def test_every_decoded_frame_equals_the_encoder_reconstruction(encodings, qp):
    result = encodings[qp]
    decoded = api.decode(result.data)
    assert frame_md5s(decoded) == frame_md5s(result.recon)
    assert result.stats["picture_type"] == list("IPPPIPPPIP")


def test_p_pictures_cost_less_and_quality_follows_qp(clip, encodings):
    low, high = encodings[22], encodings[37]
    bits = high.stats["picture_bits"]
    assert max(bits[1:4]) < bits[0] / 3  # P pictures of a static scene are cheap
    assert len(low.data) > 3 * len(high.data)
    assert psnr_y(clip, low.recon) > 38
    assert 30 < psnr_y(clip, high.recon) < 33


def test_structure_and_framing():
    # HM's low-delay P references: the previous picture and the last key picture before it.
    assert [sequence.reference_pocs(t, 32, 2, 4) for t in range(10)] == [
        [], [0], [1, 0], [2, 0], [3, 0], [4, 0], [5, 4], [6, 4], [7, 4], [8, 4]]
    assert sequence.reference_pocs(11, 32, 4, 4) == [10, 8, 4, 0]
    assert sequence.reference_pocs(33, 32, 2, 4) == [32]
    assert sequence.reference_pocs(7, 32, 3, 1) == [6, 5, 4]  # every picture a key
    assert sequence.picture_qp(0, 30, 32) == 30 and sequence.picture_qp(32, 30, 32) == 30
    assert [sequence.picture_qp(t, 30, 32) for t in range(1, 9)] == [35, 34, 35, 31, 35, 34, 35, 31]
    assert sequence.coded_size(144, 176) == (144, 176) and sequence.coded_size(9, 30) == (16, 32)
    records = [bytes([0x20]) + b"x" * 200, bytes([0xA1])]
    payload = b"".join(uleb128(len(r)) + r for r in records)
    assert payload[:2] == bytes([201 & 0x7F | 0x80, 1])  # 201 in two ULEB128 bytes
    assert split_records(payload, 2) == [(0x20, b"x" * 200), (0xA1, b"")]
    for bad in (payload[:-1], payload + b"\x00", b"\x80" * 6):
        with pytest.raises(BitstreamError):
            split_records(bad, 2)


def _reseal(data: bytes, payload: bytes) -> bytes:
    parsed = container.parse(data)
    return container.serialize(parsed.header, parsed.params, payload)


def test_damaged_sequences_raise_or_decode(encodings):
    data = encodings[37].data
    payload = container.parse(data).payload
    rng = np.random.default_rng(0)
    errors = 0
    for trial in range(30):
        damaged = bytearray(payload)
        for _ in range(1 + trial % 3):
            position = int(rng.integers(len(damaged)))
            damaged[position] ^= 1 << int(rng.integers(8))
        try:
            video = api.decode(_reseal(data, bytes(damaged)))
            assert (video.num_frames, video.height, video.width) == (10, 144, 176)
        except BitstreamError:
            errors += 1
    assert errors > 0
    for cut in (payload[:-5], payload[:len(payload) // 2], b"", b"\x05\x81abcd"):
        with pytest.raises(BitstreamError):
            api.decode(_reseal(data, cut))


def test_picture_types_must_follow_the_intra_period(encodings):
    data = encodings[37].data
    payload = bytearray(container.parse(data).payload)
    size_bytes = 2 if payload[0] & 0x80 else 1
    payload[size_bytes] ^= 0x80  # make the first picture claim to be a P picture
    with pytest.raises(BitstreamError, match="should be I"):
        api.decode(_reseal(data, bytes(payload)))


def test_odd_sizes_and_one_reference(clip):
    cut = clip.frames(0, 3)
    odd = type(cut)(cut.y[:, :70, :90].contiguous(), cut.cb[:, :35, :45].contiguous(),
                    cut.cr[:, :35, :45].contiguous(), cut.fps)
    result = api.encode_video(odd, "classic", 30, intra_period=8)
    assert frame_md5s(api.decode(result.data)) == frame_md5s(result.recon)
    params, payload, recon, _ = sequence.encode_sequence(cut, 30, 8, num_refs=1, tmvp=False)
    header = ClassicCodec().video_header(cut)
    assert frame_md5s(decode_video(header, params, payload)) == frame_md5s(recon)


def test_only_8_and_10_bit_420_video():
    grey = Video(torch.zeros(2, 16, 16, dtype=torch.uint8), None, None)
    with pytest.raises(UnsupportedError):
        api.encode_video(grey, "classic", 30)
    twelve = Video(torch.zeros(2, 16, 16, dtype=torch.uint16), torch.zeros(2, 8, 8, dtype=torch.uint16),
                   torch.zeros(2, 8, 8, dtype=torch.uint16), bit_depth=12)
    with pytest.raises(UnsupportedError):
        api.encode_video(twelve, "classic", 30)


def _ten_bit(clip: Video) -> Video:
    """The clip at 10 bits, with low bits that 8-bit video cannot hold: each sample is the
    mean of itself and its right neighbour, kept in 10 bits."""
    def widen(t):
        t = t.to(torch.int32) * 4
        return ((t + torch.roll(t, -1, dims=-1) + 1) >> 1).to(torch.uint16)
    return dataclasses.replace(clip, y=widen(clip.y), cb=widen(clip.cb), cr=widen(clip.cr), bit_depth=10)


def test_10_bit_video_round_trips_through_y4m(clip, tmp_path):
    """10-bit Y4M in, 10-bit stream, 10-bit Y4M out equal to the encoder's reconstruction;
    PSNR at the 10-bit peak in the range an 8-bit coding of the same clip reaches."""
    from codeclab.eval.metrics import hm_peak, psnr_planes
    from codeclab.io.y4m import write_y4m

    source = _ten_bit(clip.frames(0, 5))
    write_y4m(tmp_path / "in.y4m", source)
    video = read_y4m(tmp_path / "in.y4m")
    assert video.bit_depth == 10 and int(video.y.to(torch.int32).max()) > 255
    result = api.encode_video(video, "classic", 32, intra_period=4)
    parsed = api.read_header(result.data)[0]
    assert parsed.header.bit_depth == 10 and SequenceParams.unpack(parsed.params).bit_depth == 10
    decoded = api.decode(result.data)
    write_y4m(tmp_path / "out.y4m", decoded)
    back = read_y4m(tmp_path / "out.y4m")
    assert back.bit_depth == 10 and frame_md5s(back) == frame_md5s(result.recon)
    assert 30 < psnr_planes(video, back, bit_depth=10)["y"] < 45 and hm_peak(10) == 1020


def test_info_draws_motion_and_modes_of_a_frame(tmp_path, encodings):
    from PIL import Image

    from codeclab.cli import main

    clb = tmp_path / "clip.clb"
    clb.write_bytes(encodings[22].data)
    picture = tmp_path / "mv.png"
    assert main(["info", str(clb), "--frame", "2", "--show", "motion,modes", "-o", str(picture)]) == 0
    with Image.open(picture) as drawn:
        assert drawn.size[0] >= 176 * 2
    assert main(["info", str(clb), "--frame", "10", "--show", "motion", "-o", str(tmp_path / "x.png")]) == 2


@pytest.mark.parametrize("name,frames", [("carphone_176x144.y4m", 6), ("bikes_640x272.y4m", 3)])
def test_shared_sequences_are_bit_exact_at_every_qp(shared_data, name, frames):
    video = read_y4m(shared_data / "video" / name).frames(0, frames)
    for qp in (22, 27, 32, 37):
        result = api.encode_video(video, "classic", qp, intra_period=32)
        assert frame_md5s(api.decode(result.data)) == frame_md5s(result.recon), qp


class LumaOffsetFilter:
    """A picture filter adding the rounded mean luma error back (one byte per picture)."""

    tool_id = 251

    def encode(self, recon, original, qp, size):
        offset = int(np.clip(np.round(np.mean(original[0] - recon[0])), -8, 7))
        side_info = bytes([offset & 0xFF])
        return self.decode(recon, qp, side_info, size), side_info

    def decode(self, recon, qp, side_info, size):
        if len(side_info) != 1:
            raise BitstreamError("offset filter: one byte of side information expected")
        offset = side_info[0] - 256 * (side_info[0] > 127)
        return np.clip(recon[0] + offset, 0, 255).astype(np.int32), recon[1], recon[2]


def test_picture_filter_runs_before_pictures_become_references(clip):
    from codeclab.classic.common.tools import register_filter

    register_filter(LumaOffsetFilter.tool_id, LumaOffsetFilter)

    class FilteredClassic(ClassicCodec):
        name = "classic-test-video-filter"  # not registered: only this test uses it
        picture_filter = LumaOffsetFilter()

    cut = clip.frames(0, 4)
    result = api.encode_video(cut, FilteredClassic(), 34, intra_period=8)
    assert container.parse(result.data).params[-1] == LumaOffsetFilter.tool_id
    assert frame_md5s(api.decode(result.data)) == frame_md5s(result.recon)
    with pytest.raises(InputError):
        api.encode_video(cut, "classic", 34, intra_period=70000)
