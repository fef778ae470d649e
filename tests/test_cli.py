"""The command line: round trips through files, and one-line errors for bad input."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
import zlib

import pytest

from codeclab.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status: int, err: str, *words: str) -> None:
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("codeclab: error:"), err
    assert "Traceback" not in err
    for w in words:
        assert w.lower() in lines[0].lower(), (w, lines[0])


@pytest.fixture
def encoded(tmp_path, sample_image_path, capsys):
    clb = tmp_path / "a.clb"
    status, out, err = run(capsys, "encode", sample_image_path, "-o", clb, "--codec", "jpeg",
                           "--quality", 75, "--recon", tmp_path / "recon.png")
    assert status == 0, err
    return clb


def test_encode_decode_round_trip_equals_recon(tmp_path, encoded, capsys):
    status, out, err = run(capsys, "decode", encoded, "-o", tmp_path / "dec.png")
    assert status == 0, err
    import torch

    from codeclab.io.image import read_image

    assert torch.equal(read_image(tmp_path / "dec.png"), read_image(tmp_path / "recon.png"))


def test_info_and_codecs(encoded, capsys):
    status, out, _ = run(capsys, "info", encoded)
    assert status == 0 and "jpeg" in out and "256" in out
    status, out, _ = run(capsys, "codecs")
    assert status == 0
    for name in ("jpeg", "webp", "heif", "x265", "vvenc", "svtav1", "x264"):
        assert name in out


def test_video_round_trip(tmp_path, sample_y4m_path, capsys):
    clb = tmp_path / "v.clb"
    status, out, err = run(capsys, "encode", sample_y4m_path, "-o", clb, "--codec", "x264",
                           "--quality", 30, "--intra-period", 4, "--recon", tmp_path / "recon.y4m")
    assert status == 0, err
    status, out, err = run(capsys, "decode", clb, "-o", tmp_path / "dec.y4m")
    assert status == 0, err
    assert (tmp_path / "dec.y4m").read_bytes() == (tmp_path / "recon.y4m").read_bytes()


# -- bad input: one line, exit 2, no partial output ------------------------------------------

def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make_input, words", [
    (lambda d: _write(d / "empty.png", b""), ["empty.png"]),
    (lambda d: _write(d / "text.png", b"hello, I am not a picture\n"), ["text.png"]),
    (lambda d: d / "missing.png", ["missing.png", "does not exist"]),
    (lambda d: d, ["directory"]),
])
def test_bad_image_inputs(tmp_path, capsys, make_input, words):
    src = make_input(tmp_path)
    out = tmp_path / "out.clb"
    status, _, err = run(capsys, "encode", src, "-o", out, "--codec", "jpeg", "--quality", 50)
    assert_one_line_error(status, err, *words)
    assert not out.exists()


def test_truncated_png(tmp_path, capsys, sample_image_path):
    src = tmp_path / "cut.png"
    src.write_bytes(sample_image_path.read_bytes()[:20000])
    out = tmp_path / "out.clb"
    status, _, err = run(capsys, "encode", src, "-o", out, "--codec", "jpeg", "--quality", 50)
    assert_one_line_error(status, err, "cut.png")
    assert not out.exists()


def _reseal(body: bytes) -> bytes:
    return body + struct.pack(">I", zlib.crc32(body))


@pytest.mark.parametrize("damage, words", [
    (lambda b: b"", ["empty"]),
    (lambda b: b[:40] + bytes([b[40] ^ 0x10]) + b[41:], ["crc"]),
    (lambda b: b[: len(b) // 2], []),
    (lambda b: _reseal(b[:10] + struct.pack(">II", 100_000, 100_000) + b[18:-4]), ["100000x100000"]),
    (lambda b: b"GIF89a" + b[6:], ["magic"]),
])
def test_damaged_bitstreams(tmp_path, capsys, encoded, damage, words):
    bad = tmp_path / "bad.clb"
    bad.write_bytes(damage(encoded.read_bytes()))
    out = tmp_path / "dec.png"
    status, _, err = run(capsys, "decode", bad, "-o", out)
    assert_one_line_error(status, err, *words)
    assert not out.exists()
    status, _, err = run(capsys, "info", bad)
    assert_one_line_error(status, err, *words)


def test_missing_bitstream(tmp_path, capsys):
    status, _, err = run(capsys, "decode", tmp_path / "nope.clb", "-o", tmp_path / "x.png")
    assert_one_line_error(status, err, "nope.clb", "does not exist")


def test_existing_output_needs_force(tmp_path, capsys, sample_image_path, encoded):
    before = hashlib.md5(encoded.read_bytes()).hexdigest()
    status, _, err = run(capsys, "encode", sample_image_path, "-o", encoded, "--codec", "jpeg", "--quality", 10)
    assert_one_line_error(status, err, "exists", "--force")
    assert hashlib.md5(encoded.read_bytes()).hexdigest() == before
    status, _, err = run(capsys, "encode", sample_image_path, "-o", encoded, "--codec", "jpeg",
                         "--quality", 10, "--force")
    assert status == 0 and hashlib.md5(encoded.read_bytes()).hexdigest() != before


def test_bad_options(tmp_path, capsys, sample_image_path):
    out = tmp_path / "o.clb"
    status, _, err = run(capsys, "encode", sample_image_path, "-o", out, "--codec", "nosuch", "--quality", 1)
    assert_one_line_error(status, err, "unknown codec", "nosuch")
    status, _, err = run(capsys, "encode", sample_image_path, "-o", out, "--codec", "jpeg", "--quality", 1000)
    assert_one_line_error(status, err, "quality")
    status, _, err = run(capsys, "encode", sample_image_path, "-o", out, "--codec", "jpeg", "--quality", "abc")
    assert_one_line_error(status, err, "quality")
    status, _, err = run(capsys, "encode", sample_image_path, "-o", tmp_path / "no" / "dir.clb",
                         "--codec", "jpeg", "--quality", 50)
    assert_one_line_error(status, err, "does not exist")
    assert not out.exists()


def test_real_process_exit_code_and_stderr(tmp_path):
    """Through a real process: status 2, one stderr line, nothing on stdout."""
    bad = tmp_path / "zero.clb"
    bad.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "codeclab", "decode", str(bad), "-o", str(tmp_path / "d.png")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("codeclab: error:")
    assert not (tmp_path / "d.png").exists()
