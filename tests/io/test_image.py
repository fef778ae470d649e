"""Reading images of every common kind, writing PNG, and refusing bad files with one line."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

import codeclab.io.files
from codeclab.errors import InputError
from codeclab.io.image import image_to_numpy, numpy_to_image, png_bytes, read_image, write_png


class Notes(list):
    """A ``note`` callback that remembers what it was told."""

    def __call__(self, message: str) -> None:
        self.append(message)


@pytest.fixture(scope="module")
def rgb(sample_image_path) -> np.ndarray:
    return np.array(Image.open(sample_image_path).convert("RGB"))[:64, :48]


def read_quietly(path, **kwargs) -> tuple[torch.Tensor, Notes]:
    notes = Notes()
    return read_image(path, note=notes, **kwargs), notes


def as_chw(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.transpose(2, 0, 1).copy()) if array.ndim == 3 else torch.from_numpy(array)[None]


def test_sample_reads_as_rgb_uint8(sample_image_path):
    image, notes = read_quietly(sample_image_path)
    assert image.shape == (3, 256, 256) and image.dtype == torch.uint8 and image.is_contiguous()
    assert torch.equal(image, as_chw(np.array(Image.open(sample_image_path).convert("RGB"))))
    assert notes == []


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".ppm"])
def test_lossless_formats_give_back_the_pixels(tmp_path, rgb, suffix):
    path = tmp_path / f"rgb{suffix}"
    Image.fromarray(rgb).save(path)
    image, notes = read_quietly(path)
    assert torch.equal(image, as_chw(rgb)) and notes == []
    grey_path = tmp_path / f"grey{suffix}"
    Image.fromarray(rgb[:, :, 1]).save(grey_path)
    grey, _ = read_quietly(grey_path)
    assert grey.shape == (1, 64, 48) and torch.equal(grey[0], torch.from_numpy(rgb[:, :, 1]))


def test_jpeg_reads_as_pillow_decodes_it(tmp_path, rgb):
    path = tmp_path / "x.jpg"
    Image.fromarray(rgb).save(path, quality=90)
    image, notes = read_quietly(path)
    assert torch.equal(image, as_chw(np.array(Image.open(path)))) and notes == []
    assert (image.int() - as_chw(rgb).int()).abs().float().mean() < 4


def test_alpha_is_dropped_with_one_note(tmp_path, rgb):
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "a.png")
    image, notes = read_quietly(tmp_path / "a.png")
    assert torch.equal(image, as_chw(rgb))
    assert len(notes) == 1 and "alpha channel dropped" in notes[0] and "a.png" in notes[0]
    Image.fromarray(rgba[:, :, [0, 3]]).save(tmp_path / "la.png")  # grey + alpha
    grey, notes = read_quietly(tmp_path / "la.png")
    assert grey.shape == (1, 64, 48) and torch.equal(grey[0], torch.from_numpy(rgb[:, :, 0]))
    assert len(notes) == 1 and "alpha" in notes[0]


def test_palette_is_expanded_with_a_note(tmp_path, rgb):
    palette = Image.fromarray(rgb).quantize(16)
    palette.save(tmp_path / "p.png")
    image, notes = read_quietly(tmp_path / "p.png")
    assert torch.equal(image, as_chw(np.array(palette.convert("RGB"))))
    assert len(notes) == 1 and "palette" in notes[0]


def test_cmyk_is_converted_with_a_note(tmp_path, rgb):
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.tif")
    image, notes = read_quietly(tmp_path / "c.tif")
    assert image.shape == (3, 64, 48)
    assert torch.equal(image, as_chw(rgb))  # Pillow's naive CMYK is exactly invertible
    assert len(notes) == 1 and "CMYK" in notes[0]


def test_default_note_goes_to_stderr(tmp_path, rgb, capsys):
    Image.fromarray(np.dstack([rgb, rgb[:, :, 0]])).save(tmp_path / "a.png")
    read_image(tmp_path / "a.png")
    err = capsys.readouterr().err
    assert err.startswith("codeclab: note: ") and err.count("\n") == 1


def test_16bit_grey_png(tmp_path):
    samples = np.random.default_rng(1).integers(0, 65536, (9, 11), dtype=np.uint16)
    write_png(tmp_path / "g16.png", torch.from_numpy(samples)[None])
    # Pillow, an independent decoder, reads our file back exactly.
    assert np.array_equal(np.array(Image.open(tmp_path / "g16.png")), samples)
    kept, notes = read_quietly(tmp_path / "g16.png", allow_16bit=True)
    assert kept.dtype == torch.uint16 and torch.equal(kept[0], torch.from_numpy(samples)) and notes == []
    reduced, notes = read_quietly(tmp_path / "g16.png")
    assert reduced.dtype == torch.uint8
    assert torch.equal(reduced[0], torch.from_numpy(np.round(samples / 257).astype(np.uint8)))
    assert len(notes) == 1 and "16-bit" in notes[0]


def test_16bit_rgb_png(tmp_path):
    samples = np.random.default_rng(2).integers(0, 65536, (10, 7, 3), dtype=np.uint16)
    write_png(tmp_path / "c16.png", as_chw(samples))
    # Pillow decodes 16-bit RGB to 8 bits by dropping the low byte: it sees our bytes right.
    assert np.array_equal(np.array(Image.open(tmp_path / "c16.png")), (samples >> 8).astype(np.uint8))
    kept, notes = read_quietly(tmp_path / "c16.png", allow_16bit=True)
    assert kept.dtype == torch.uint16 and torch.equal(kept, as_chw(samples)) and notes == []
    reduced, notes = read_quietly(tmp_path / "c16.png")
    assert torch.equal(reduced, as_chw(np.round(samples / 257).astype(np.uint8)))
    assert len(notes) == 1 and "rounded to 8 bits" in notes[0]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def plain_png(samples: np.ndarray, bit_depth: int, color_type: int) -> bytes:
    """A PNG written the simplest way (filter type 0), independent of codeclab's writer."""
    height, width = samples.shape[:2]
    raw = samples.astype(">u2" if bit_depth == 16 else np.uint8).reshape(height, -1).view(np.uint8)
    rows = np.concatenate([np.zeros((height, 1), np.uint8), raw], axis=1)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows.tobytes()))
            + png_chunk(b"IEND", b""))


@pytest.mark.parametrize("channels, color_type", [(4, 6), (2, 4)])  # RGBA, grey + alpha
def test_16bit_with_alpha_keeps_all_16_bits(tmp_path, channels, color_type):
    samples = np.random.default_rng(4).integers(0, 65536, (5, 8, channels), dtype=np.uint16)
    (tmp_path / "alpha16.png").write_bytes(plain_png(samples, 16, color_type))
    image, notes = read_quietly(tmp_path / "alpha16.png", allow_16bit=True)
    assert torch.equal(image, as_chw(samples[:, :, :-1]))
    assert len(notes) == 1 and "alpha channel dropped" in notes[0]


def test_16bit_ppm_and_pgm(tmp_path):
    samples = np.random.default_rng(3).integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    (tmp_path / "x.ppm").write_bytes(b"P6\n6 5\n65535\n" + samples.astype(">u2").tobytes())
    (tmp_path / "x.pgm").write_bytes(b"P5\n6 5\n65535\n" + samples[:, :, 0].astype(">u2").tobytes())
    assert torch.equal(read_quietly(tmp_path / "x.ppm", allow_16bit=True)[0], as_chw(samples))
    assert torch.equal(read_quietly(tmp_path / "x.pgm", allow_16bit=True)[0][0], torch.from_numpy(samples[:, :, 0]))


def test_first_frame_of_an_animation_with_a_note(tmp_path, rgb):
    frames = [Image.fromarray(rgb).quantize(8), Image.fromarray(255 - rgb).quantize(8)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    _, notes = read_quietly(tmp_path / "anim.gif")
    assert len(notes) == 1 and "first of 2 frames" in notes[0]


def test_png_round_trip_uint8(tmp_path, rgb):
    for image in (as_chw(rgb), as_chw(rgb[:, :, 2])):
        write_png(tmp_path / "out.png", image)
        assert torch.equal(read_quietly(tmp_path / "out.png")[0], image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no temporary left over


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, rgb, monkeypatch):
    target = tmp_path / "keep.png"
    target.write_bytes(b"old")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(codeclab.io.files.os, "replace", failing_replace)
    with pytest.raises(InputError, match="No space left"):
        write_png(target, as_chw(rgb))
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_write_png_refuses_bad_tensors_and_folders(tmp_path):
    for bad in (torch.zeros(2, 4, 4, dtype=torch.uint8), torch.zeros(3, 4, 4), torch.zeros(4, 4, dtype=torch.uint8)):
        with pytest.raises(InputError):
            png_bytes(bad)
    with pytest.raises(InputError, match="cannot write"):
        write_png(tmp_path / "missing" / "x.png", torch.zeros(3, 4, 4, dtype=torch.uint8))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` but which holds almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 100))
            + png_chunk(b"IEND", b""))


def unreadable_files(tmp_path, sample_image_path) -> dict:
    data = sample_image_path.read_bytes()
    files = {
        "missing": (tmp_path / "nothing.png", "does not exist"),
        "empty": (tmp_path / "empty.png", "empty"),
        "truncated": (tmp_path / "truncated.png", "truncated"),
        "text": (tmp_path / "text.png", "not an image"),
        "folder": (tmp_path / "folder.png", "directory"),
        "float": (tmp_path / "float.tif", "floating-point"),
        "bomb": (tmp_path / "bomb.png", "too large"),
        "big": (tmp_path / "big.png", "picture size 9000x9000 is outside"),
        "wide": (tmp_path / "wide.png", "picture size 16385x1 is outside"),
    }
    files["empty"][0].write_bytes(b"")
    files["truncated"][0].write_bytes(data[: len(data) // 2])
    files["text"][0].write_text("hello, I am not a picture\n")
    files["folder"][0].mkdir()
    Image.new("F", (4, 4)).save(files["float"][0])
    files["bomb"][0].write_bytes(png_header_only(30000, 30000))   # beyond Pillow's own guard
    files["big"][0].write_bytes(png_header_only(9000, 9000))      # beyond ours only
    files["wide"][0].write_bytes(png_header_only(16385, 1))       # beyond MAX_DIMENSION
    return files


def test_unreadable_files_raise_one_line_input_errors(tmp_path, sample_image_path):
    for name, (path, reason) in unreadable_files(tmp_path, sample_image_path).items():
        with pytest.raises(InputError) as caught:
            read_quietly(path)
        message = str(caught.value)
        assert str(path) in message and reason in message and "\n" not in message, (name, message)


def test_numpy_helpers_round_trip(rgb):
    image = numpy_to_image(rgb)
    assert image.shape == (3, 64, 48)
    assert np.array_equal(image_to_numpy(image), rgb)
    assert numpy_to_image(rgb[:, :, 0]).shape == (1, 64, 48)


def test_png_bytes_of_8bit_is_a_png_pillow_reads(rgb):
    data = png_bytes(as_chw(rgb))
    assert np.array_equal(np.array(Image.open(io.BytesIO(data))), rgb)
