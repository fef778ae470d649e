"""read_video: Y4M directly, other containers through PyAV, checked with lossless encodes."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from codeclab.bitstream.container import ColorFormat, Matrix, Range
from codeclab.errors import InputError
from codeclab.io.video import Video
from codeclab.io.video_reader import read_video
from codeclab.io.y4m import read_y4m

av = pytest.importorskip("av")


def encode(path, planes: list[np.ndarray], pix_fmt: str, codec: str, options=None, *,
           fps=Fraction(30000, 1001), color_range: int = 0, colorspace: int = 2) -> None:
    """Write (T, h, w) planes as a video file with PyAV, one FFmpeg frame per time step."""
    height, width = planes[0].shape[1:]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = options or {}
        stream.codec_context.color_range = color_range
        stream.codec_context.colorspace = colorspace
        for t in range(planes[0].shape[0]):
            frame = av.VideoFrame(width, height, pix_fmt)
            frame.color_range, frame.colorspace = color_range, colorspace
            for plane, samples in zip(frame.planes, planes):
                padded = np.zeros((plane.height, plane.line_size // samples.itemsize), samples.dtype)
                padded[:, :plane.width] = samples[t]  # FFmpeg rows are padded to line_size
                plane.update(padded.tobytes())
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def planes_of(video: Video) -> list[np.ndarray]:
    return [p.numpy() for p in (video.y, video.cb, video.cr) if p is not None]


@pytest.fixture(scope="module")
def sample(sample_y4m_path) -> Video:
    return read_y4m(sample_y4m_path)


def test_y4m_goes_through_read_y4m(sample_y4m_path, sample):
    video = read_video(sample_y4m_path, max_frames=4)
    assert video.num_frames == 4 and torch.equal(video.y, sample.y[:4]) and video.tags == sample.tags


@pytest.mark.skipif("libx264" not in av.codecs_available, reason="this FFmpeg build has no libx264")
def test_lossless_h264_mp4_decodes_to_the_source(tmp_path, sample):
    encode(tmp_path / "x.mp4", planes_of(sample), "yuv420p", "libx264", {"qp": "0"})
    video = read_video(tmp_path / "x.mp4")
    assert (video.num_frames, video.color_format, video.bit_depth, video.fps) == \
        (10, ColorFormat.YUV420, 8, Fraction(30000, 1001))
    for got, want in zip(planes_of(video), planes_of(sample)):
        assert np.array_equal(got, want)
    assert read_video(tmp_path / "x.mp4", max_frames=3).num_frames == 3


def test_lossless_ffv1_mkv_keeps_the_stream_format(tmp_path, sample):
    rng = np.random.default_rng(5)
    cases = [  # pix_fmt, planes, expected (format, depth)
        ("yuv420p", planes_of(sample.frames(0, 3)), (ColorFormat.YUV420, 8)),
        ("yuv444p10le", [rng.integers(0, 1024, (2, 12, 18), dtype=np.uint16) for _ in range(3)],
         (ColorFormat.YUV444, 10)),
        ("yuv422p", [rng.integers(0, 256, (2, 12, 18), dtype=np.uint8)] +
         [rng.integers(0, 256, (2, 12, 9), dtype=np.uint8) for _ in range(2)], (ColorFormat.YUV422, 8)),
        ("gray", [rng.integers(0, 256, (2, 12, 18), dtype=np.uint8)], (ColorFormat.GRAY, 8)),
    ]
    for pix_fmt, planes, (fmt, depth) in cases:
        path = tmp_path / f"{pix_fmt}.mkv"
        encode(path, planes, pix_fmt, "ffv1", fps=Fraction(25))
        video = read_video(path)
        assert (video.color_format, video.bit_depth, video.fps) == (fmt, depth, 25), pix_fmt
        assert all(np.array_equal(a, b) for a, b in zip(planes_of(video), planes)), pix_fmt
        assert video.cb is None if fmt == ColorFormat.GRAY else video.cb.shape[0] == planes[1].shape[0]


def test_colour_description_comes_from_the_stream(tmp_path, sample):
    encode(tmp_path / "full.mkv", planes_of(sample.frames(0, 2)), "yuv420p", "ffv1", color_range=2, colorspace=1)
    video = read_video(tmp_path / "full.mkv")
    assert (video.range, video.matrix) == (Range.FULL, Matrix.BT709)
    encode(tmp_path / "tv.mkv", planes_of(sample.frames(0, 2)), "yuv420p", "ffv1", color_range=1, colorspace=6)
    video = read_video(tmp_path / "tv.mkv")
    assert (video.range, video.matrix) == (Range.LIMITED, Matrix.BT601)


@pytest.mark.parametrize("pix_fmt, codec, depth", [("gbrp", "utvideo", 8), ("gbrp10le", "ffv1", 10)])
def test_rgb_streams_are_converted_to_420(tmp_path, pix_fmt, codec, depth):
    peak = (1 << depth) - 1
    grey = np.random.default_rng(6).integers(0, peak + 1, (2, 8, 12)).astype(np.uint8 if depth == 8 else np.uint16)
    encode(tmp_path / "rgb.avi", [grey, grey, grey], pix_fmt, codec, fps=Fraction(24))  # AVI takes both codecs
    video = read_video(tmp_path / "rgb.avi")
    assert (video.color_format, video.bit_depth, video.matrix, video.range) == \
        (ColorFormat.YUV420, depth, Matrix.BT601, Range.LIMITED)
    assert video.cb.shape == (2, 4, 6) and video.fps == 24
    # Grey pictures: neutral chroma, and luma in the studio range 16..235 (times 2^(n-8)).
    step = 1 << (depth - 8)
    assert (video.cb.int() - 128 * step).abs().max() <= step
    assert int(video.y.int().min()) >= 16 * step and int(video.y.int().max()) <= 235 * step


def test_shared_carphone_mp4(shared_data):
    path = shared_data / "video" / "carphone_176x144.mp4"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    video = read_video(path, max_frames=20)
    assert (video.num_frames, video.height, video.width) == (20, 144, 176)
    assert (video.color_format, video.bit_depth, video.fps) == (ColorFormat.YUV420, 8, Fraction(30000, 1001))
    source = read_y4m(shared_data / "video" / "carphone_176x144.y4m", max_frames=20)
    mse = (video.y.double() - source.y.double()).pow(2).mean().item()
    assert mse == 0 or 10 * np.log10(255 ** 2 / mse) > 40


def test_unreadable_videos_raise_one_line_input_errors(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("not a video at all\n" * 20)
    (tmp_path / "folder.mkv").mkdir()
    cases = [(tmp_path / "missing.mp4", "does not exist"), (tmp_path / "empty.mp4", "empty"),
             (tmp_path / "text.mp4", "cannot decode video"), (tmp_path / "folder.mkv", "directory")]
    for path, reason in cases:
        with pytest.raises(InputError) as caught:
            read_video(path)
        message = str(caught.value)
        assert str(path) in message and reason in message and "\n" not in message, message
    with pytest.raises(InputError, match="max_frames"):
        read_video(tmp_path / "missing.mp4", max_frames=0)
