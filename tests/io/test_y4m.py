"""Y4M: byte-exact round trips of every sampling and depth, header tags, and damaged files."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from codeclab.bitstream.container import ColorFormat, Range
from codeclab.errors import InputError
from codeclab.io.video import Video
from codeclab.io.y4m import chroma_siting, read_y4m, write_y4m, y4m_bytes


def random_video(fmt: ColorFormat, bit_depth: int, frames=2, height=6, width=10, seed=0) -> Video:
    generator = torch.Generator().manual_seed(seed)
    dtype = torch.uint8 if bit_depth == 8 else torch.uint16

    def plane(h, w):
        return torch.randint(0, 1 << bit_depth, (frames, h, w), generator=generator, dtype=torch.int32).to(dtype)

    if fmt == ColorFormat.GRAY:
        return Video(plane(height, width), None, None, color_format=fmt, bit_depth=bit_depth)
    sx, sy = {ColorFormat.YUV420: (2, 2), ColorFormat.YUV422: (2, 1), ColorFormat.YUV444: (1, 1)}[fmt]
    ch, cw = -(-height // sy), -(-width // sx)
    return Video(plane(height, width), plane(ch, cw), plane(ch, cw), Fraction(24000, 1001), fmt, bit_depth)


def assert_same_video(a: Video, b: Video) -> None:
    assert (a.color_format, a.bit_depth, a.fps, a.range) == (b.color_format, b.bit_depth, b.fps, b.range)
    for pa, pb in zip((a.y, a.cb, a.cr), (b.y, b.cb, b.cr)):
        assert (pa is None and pb is None) or (pa.dtype == pb.dtype and torch.equal(pa, pb))


def test_sample_reads_with_its_header(sample_y4m_path):
    video = read_y4m(sample_y4m_path)
    assert (video.num_frames, video.height, video.width) == (10, 144, 176)
    assert video.cb.shape == video.cr.shape == (10, 72, 88) and video.y.dtype == torch.uint8
    assert video.fps == Fraction(30000, 1001)
    assert (video.color_format, video.bit_depth, video.range) == (ColorFormat.YUV420, 8, Range.UNSPECIFIED)
    assert video.tags == {"I": "p", "A": "128:117", "C": "420mpeg2", "XYSCSS": "420MPEG2"}
    assert chroma_siting(video.tags) == "left"


def test_sample_round_trips_byte_for_byte(sample_y4m_path, tmp_path):
    write_y4m(tmp_path / "copy.y4m", read_y4m(sample_y4m_path))
    assert (tmp_path / "copy.y4m").read_bytes() == sample_y4m_path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["copy.y4m"]


def test_bytes_input_and_max_frames(sample_y4m_path):
    data = sample_y4m_path.read_bytes()
    from_bytes = read_y4m(data, max_frames=3)
    assert from_bytes.num_frames == 3
    assert torch.equal(from_bytes.y, read_y4m(sample_y4m_path).y[:3])
    # The samples sit right after the first FRAME line, row by row.
    first = data.index(b"FRAME\n") + 6
    assert from_bytes.y[0, 0, :8].tolist() == list(data[first:first + 8])


@pytest.mark.parametrize("fmt", [ColorFormat.YUV420, ColorFormat.YUV422, ColorFormat.YUV444, ColorFormat.GRAY])
@pytest.mark.parametrize("bit_depth", [8, 10])
def test_round_trip_of_each_sampling_and_depth(fmt, bit_depth):
    video = random_video(fmt, bit_depth, height=7, width=9)  # odd sizes: chroma rounds up
    data = y4m_bytes(video)
    back = read_y4m(data)
    assert_same_video(back, video)
    assert y4m_bytes(back) == data


def test_ten_bit_samples_are_little_endian_words():
    video = random_video(ColorFormat.YUV420, 10)
    data = y4m_bytes(video)
    header, body = data.split(b"\n", 1)
    assert b" C420p10 " in header + b" "
    first = int(video.y[0, 0, 0])
    assert body[6:8] == bytes([first & 0xFF, first >> 8])


def test_headers_as_ffmpeg_writes_them():
    # Header lines FFmpeg 7 writes (-pix_fmt yuv420p10le, yuvj420p, gray10le, yuv422p12le).
    headers = [
        b"YUV4MPEG2 W10 H6 F24:1 Ip A1:1 C420p10 XYSCSS=420P10",
        b"YUV4MPEG2 W10 H6 F24:1 Ip A1:1 C420jpeg XYSCSS=420JPEG XCOLORRANGE=FULL",
        b"YUV4MPEG2 W10 H6 F24:1 Ip A1:1 Cmono10 XCOLORRANGE=FULL",
        b"YUV4MPEG2 W10 H6 F24:1 Ip A1:1 C422p12 XYSCSS=422P12",
    ]
    expected = [(ColorFormat.YUV420, 10, Range.UNSPECIFIED), (ColorFormat.YUV420, 8, Range.FULL),
                (ColorFormat.GRAY, 10, Range.FULL), (ColorFormat.YUV422, 12, Range.UNSPECIFIED)]
    for header, (fmt, depth, rng) in zip(headers, expected):
        planes = random_video(fmt, depth)
        body = y4m_bytes(planes).split(b"\n", 1)[1]
        video = read_y4m(header + b"\n" + body)
        assert (video.color_format, video.bit_depth, video.range, video.fps) == (fmt, depth, rng, 24)
        assert y4m_bytes(video) == header + b"\n" + body


def test_range_and_format_changes_rewrite_their_tags(sample_y4m_path):
    video = read_y4m(sample_y4m_path, max_frames=1)
    video.range = Range.LIMITED
    assert b" XCOLORRANGE=LIMITED\n" in y4m_bytes(video)
    assert read_y4m(y4m_bytes(video)).range == Range.LIMITED
    full = Video(video.y, video.cb.repeat_interleave(2, 1).repeat_interleave(2, 2),
                 video.cr.repeat_interleave(2, 1).repeat_interleave(2, 2), video.fps,
                 ColorFormat.YUV444, 8, tags=dict(video.tags))
    header = y4m_bytes(full).split(b"\n", 1)[0]
    assert header == b"YUV4MPEG2 W176 H144 F30000:1001 Ip A128:117 C444 XYSCSS=444"
    fresh = random_video(ColorFormat.YUV420, 8)
    assert y4m_bytes(fresh).split(b"\n", 1)[0] == b"YUV4MPEG2 W10 H6 F24000:1001 Ip C420jpeg"


def damaged(sample: bytes) -> dict[str, tuple[bytes, str]]:
    header_end = sample.index(b"\n")
    second_frame = sample.index(b"FRAME", header_end + 10)
    return {
        "magic": (b"YUV4MPEG W4 H4\nFRAME\n" + bytes(24), "not a Y4M file"),
        "no size": (b"YUV4MPEG2 W4 F25:1\nFRAME\n" + bytes(24), "W or H"),
        "bad size": (b"YUV4MPEG2 W4x H4\n", "bad Y4M size"),
        "huge": (b"YUV4MPEG2 W20000 H20000\nFRAME\n", "picture size 20000x20000 is outside"),
        "zero": (b"YUV4MPEG2 W0 H4\nFRAME\n", "picture size 0x4 is outside"),
        "rate": (b"YUV4MPEG2 W4 H4 F25:0\nFRAME\n" + bytes(24), "frame rate"),
        "colour": (b"YUV4MPEG2 W4 H4 C411\nFRAME\n" + bytes(24), "C411"),
        "no frames": (sample[:header_end + 1], "no frames"),
        "truncated": (sample[:-100], "frame 9 is truncated"),
        "marker": (sample[:second_frame] + b"FRAMX" + sample[second_frame + 5:], "frame 1: no FRAME marker"),
        "no newline": (b"YUV4MPEG2 W4 H4" + b" " * 5000, "no end"),
        "ten bits": (b"YUV4MPEG2 W2 H2 C444p10\nFRAME\n" + b"\xff\xff" * 12, "exceeds 10 bits"),
    }


def test_damaged_data_raises_one_line_input_errors(sample_y4m_path):
    for name, (data, reason) in damaged(sample_y4m_path.read_bytes()).items():
        with pytest.raises(InputError) as caught:
            read_y4m(data)
        message = str(caught.value)
        assert reason in message and "\n" not in message, (name, message)


def test_file_errors_name_the_file(tmp_path):
    (tmp_path / "empty.y4m").write_bytes(b"")
    for path, reason in ((tmp_path / "missing.y4m", "does not exist"), (tmp_path / "empty.y4m", "empty"),
                         (tmp_path, "directory")):
        with pytest.raises(InputError, match=reason) as caught:
            read_y4m(path)
        assert str(path) in str(caught.value)


def test_writer_refuses_inconsistent_videos(tmp_path):
    video = random_video(ColorFormat.YUV420, 8)
    for bad in (Video(video.y, video.cb[:, :, :-1], video.cr),
                Video(video.y.to(torch.uint16), video.cb.to(torch.uint16), video.cr.to(torch.uint16)),
                Video(video.y, None, None),
                Video(video.y, video.cb, video.cr, fps=Fraction(0)),
                Video(video.y, video.cb, video.cr, color_format=ColorFormat.RGB)):
        with pytest.raises(InputError):
            write_y4m(tmp_path / "bad.y4m", bad)
    ten = random_video(ColorFormat.YUV444, 10)
    ten.y[0, 0, 0] = 1024
    with pytest.raises(InputError, match="exceeds 10 bits"):
        y4m_bytes(ten)
    assert list(tmp_path.iterdir()) == []


def test_shared_sequences_round_trip(shared_data):
    for path in sorted((shared_data / "video").glob("*.y4m")):
        video = read_y4m(path, max_frames=5)
        data = path.read_bytes()
        written = y4m_bytes(video)
        assert written == data[:len(written)]  # the first five frames, header included
        assert np.array_equal(video.y[4].numpy(), read_y4m(data, max_frames=5).y[4].numpy())
