"""The overfitted codec: coder, tables, integer ARM and synthesis, stream syntax, round trips, damage."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from codeclab import api
from codeclab.bitstream import container
from codeclab.cli import main as cli_main
from codeclab.codec import get_codec
from codeclab.entropy import rans
from codeclab.entropy.shifted_tables import centre_and_phase
from codeclab.errors import BitstreamError
from codeclab.io import read_image
from codeclab.learned.overfit import arm as A
from codeclab.learned.overfit.architecture import Architecture
from codeclab.learned.overfit.decoder import decode_picture, reconstruct
from codeclab.learned.overfit.encoder import _networks, effort_of, forward, initial_parameters
from codeclab.learned.overfit.latents import decode_latents, encode_latents
from codeclab.learned.overfit.syntax import integer_arm, pack_payload, unpack_payload

TABLES = A.tables()


@pytest.fixture(scope="module")
def crop(samples_dir):
    return read_image(samples_dir / "kodim23_crop256.png")[:, 60:108, 100:156]  # 56x48: not a multiple of 64


@pytest.fixture(scope="module")
def encoded(crop):
    """One real encode of the crop (60 iterations), shared by the round-trip tests."""
    codec = get_codec("overfit").configure(effort=40)
    return api.encode_image(crop, codec, 5.0)


# -- the coder and its tables ---------------------------------------------------------------

def symbols_of(values, table_ids, t=TABLES):
    u = values - t.offset[table_ids]
    escape = (u < 0) | (u >= t.count[table_ids] - 1)
    u = np.where(escape, t.count[table_ids] - 1, u)
    starts = t.cdf[t.first[table_ids] + u]
    return u, starts, t.cdf[t.first[table_ids] + u + 1] - starts


def test_tables_are_laplace_with_shifted_means():
    t = TABLES
    assert len(t.count) == A.SCALE_GRID.size * (A.PHASES // 2 + 1)
    for table in range(len(t.count)):
        c = t.cdf[t.first[table]: t.first[table] + t.count[table] + 1]
        assert c[0] == 0 and c[-1] == 1 << rans.PRECISION and np.all(np.diff(c) >= 1)
    # scale 1 (k = 0), mean 0: P(0) = 1 - e^-1/2;  mean 1/2 (phase 4): P(0) = P(1) = (1 - e^-1) / 2

    def prob(table, value):
        i = value - t.offset[table]
        return (t.cdf[t.first[table] + i + 1] - t.cdf[t.first[table] + i]) / 2 ** 16
    k = 0 - A.SCALE_GRID.k_min
    assert prob(k * 5, 0) == pytest.approx(1 - math.exp(-0.5), abs=2e-4)
    assert prob(k * 5 + 4, 0) == pytest.approx((1 - math.exp(-1)) / 2, abs=2e-4)
    assert prob(k * 5 + 4, 1) == pytest.approx(prob(k * 5 + 4, 0), abs=2e-5)


def test_centre_and_phase_known_values():
    c, d, s = centre_and_phase(np.array([0, 3, 4, -4, -5, 12, -12]), 8)
    assert c.tolist() == [0, 0, 1, 0, -1, 2, -1]
    assert d.tolist() == [0, 3, 4, 4, 3, 4, 4]
    assert s.tolist() == [1, 1, -1, -1, 1, -1, -1]
    from codeclab.learned.overfit.latents import _table

    for m, ci, di, si in zip([0, 3, 4, -4, -5, 12, -12], c, d, s):  # the decoder's kernel agrees
        assert _table(m, 10, 5) == (ci, si, 50 + di)


def test_rans_round_trip_with_escapes_and_damage():
    rng = np.random.default_rng(1)
    n = 5000
    ids = rng.integers(0, len(TABLES.count), n)
    values = rng.integers(-40, 41, n)
    u, starts, freqs = symbols_of(values, ids)
    data = rans.encode(starts, freqs)

    from numba import njit

    @njit
    def decode(data, ids, cdf, first, count):
        x, pos, over = rans.init(data)
        out = np.empty(ids.shape[0], np.int64)
        for i in range(ids.shape[0]):
            t = ids[i]
            k = rans.find(cdf, first[t], count[t], rans.peek(x))
            out[i] = k
            x, pos, over = rans.advance(x, pos, over, data, cdf[first[t] + k], cdf[first[t] + k + 1] - cdf[first[t] + k])
        return out, rans.finished(x, pos, over, data)

    out, ok = decode(data, ids, TABLES.cdf, TABLES.first, TABLES.count)
    assert ok and np.array_equal(out, u)
    assert (u == TABLES.count[ids] - 1).any()  # escapes were exercised
    _, ok = decode(data[: len(data) // 2], ids, TABLES.cdf, TABLES.first, TABLES.count)
    assert not ok  # truncated: reported, no read outside the buffer


# -- the integer ARM and the latent stream ----------------------------------------------------

def random_networks(arch=Architecture(3, 8, 8), seed=0):
    latents, nets = initial_parameters(arch, 20, 24, torch.Generator().manual_seed(seed))
    g = torch.Generator().manual_seed(seed + 1)
    nets = {k: v + 0.3 * torch.randn(v.shape, generator=g) for k, v in nets.items()}
    return latents, nets


def test_integer_arm_follows_the_float_arm():
    arch = Architecture(3, 8, 8)
    _, nets = random_networks(arch)
    q = _networks(nets, arch, {"upsample": (10, 10), "arm": (10, 10), "synthesis": (10, 10)})
    w = integer_arm(q)
    ctx = torch.randint(-6, 7, (200, 12))
    mu, t = A.arm_float(ctx.float(), q.to_float())
    h0, h1, out = np.empty(8, np.int64), np.empty(8, np.int64), np.empty(2, np.int64)
    for row, m_ref, t_ref in zip(ctx.numpy().astype(np.int64), mu.tolist(), t.tolist()):
        m, k = A.predict(row.copy(), *w, h0, h1, out)
        assert abs(m / 8 - m_ref) <= 1 / 16 + 0.02
        assert k == min(max(round(8 * t_ref) + 32, 0), 72) or abs(k - 32 - 8 * t_ref) <= 0.5 + 0.2


def test_latent_stream_round_trip():
    arch = Architecture(3, 8, 8)
    _, nets = random_networks(arch)
    q = _networks(nets, arch, {"upsample": (10, 10), "arm": (9, 9), "synthesis": (10, 10)})
    rng = np.random.default_rng(2)
    shapes = arch.latent_shapes(37, 29)
    grids = [rng.laplace(0, 2, s).round().astype(np.int64) for s in shapes]
    grids[0][0, 0] = 300  # an escape
    data = encode_latents(grids, integer_arm(q))
    decoded, ok = decode_latents(data, shapes, integer_arm(q))
    assert ok and all(np.array_equal(a, b) for a, b in zip(decoded, grids))
    damaged = bytearray(data)
    damaged[len(data) // 3] ^= 0x10
    decoded, ok = decode_latents(bytes(damaged), shapes, integer_arm(q))
    assert not ok or any(not np.array_equal(a, b) for a, b in zip(decoded, grids))


def test_networks_round_trip_through_the_payload():
    arch = Architecture(4, 8, 12)
    _, nets = random_networks(arch)
    q = _networks(nets, arch, {"upsample": (12, 0), "arm": (7, 6), "synthesis": (9, 11)})
    q.values["synthesis.0.weight"].flat[0] = 20000  # escape-coded
    payload = pack_payload(q, b"latents")
    back, rest = unpack_payload(payload, arch)
    assert rest == b"latents" and back.steps == q.steps
    assert all(np.array_equal(back.values[k], v) for k, v in q.values.items())
    with pytest.raises(BitstreamError):
        unpack_payload(payload[:20], arch)


def test_integer_synthesis_follows_the_float_synthesis():
    arch = Architecture(3, 8, 8)
    latents, nets = random_networks(arch)
    grids = [torch.randint(-3, 4, y.shape).float() for y in latents]
    q = _networks(nets, arch, {"upsample": (12, 12), "arm": (8, 8), "synthesis": (12, 12)})
    x, _ = forward(grids, q.to_float(), 20, 24)
    exact = reconstruct([g.numpy().astype(np.int64) for g in grids], q, 20, 24)
    float_pixels = torch.round(x.clamp(0, 1) * 255)
    assert (exact.float() - float_pixels).abs().max() <= 1


# -- the codec --------------------------------------------------------------------------------

def test_stream_decodes_to_the_encoders_reconstruction(encoded, crop):
    assert encoded.recon.shape == crop.shape and encoded.recon.dtype == torch.uint8
    assert torch.equal(api.decode(encoded.data), encoded.recon)
    mse = ((encoded.recon.double() - crop.double()) ** 2).mean().item()
    assert 10 * math.log10(255 ** 2 / mse) > 20  # a real picture, not noise
    info = get_codec("overfit").describe_params(container.parse(encoded.data).params)
    assert info["quality"] == 5.0 and info["levels"] == 7


def test_banded_synthesis_equals_one_piece(encoded, monkeypatch):
    from codeclab.learned.overfit import decoder

    parsed = container.parse(encoded.data)
    monkeypatch.setattr(decoder, "BAND_ROWS", 5)  # bands of 5 rows, 2-row overlaps
    assert torch.equal(decode_picture(parsed.header.height, parsed.header.width, parsed.params, parsed.payload),
                       encoded.recon)
    with pytest.raises(BitstreamError, match="at most"):
        decode_picture(4096, 4096, parsed.params, parsed.payload)


def test_quality_buys_bits(crop):
    codec = get_codec("overfit").configure(effort=40)
    low, high = (len(api.encode_image(crop, codec, q).data) for q in (1.0, 8.0))
    assert low < high


def test_damaged_streams_raise_or_decode(encoded):
    parsed = container.parse(encoded.data)
    h, w = parsed.header.height, parsed.header.width
    rng = np.random.default_rng(3)
    for _ in range(30):
        payload = bytearray(parsed.payload)
        payload[rng.integers(len(payload))] ^= 1 << int(rng.integers(8))
        try:
            out = decode_picture(h, w, parsed.params, bytes(payload))
            assert out.shape == (3, h, w)
        except BitstreamError:
            pass
    for cut in (0, 5, 16, len(parsed.payload) - 1):
        with pytest.raises(BitstreamError):
            decode_picture(h, w, parsed.params, parsed.payload[:cut])
    with pytest.raises(BitstreamError):
        decode_picture(h, w, b"\x05\x00\x63\x08\x10", parsed.payload)  # 99 levels
    with pytest.raises(BitstreamError):
        api.decode(encoded.data[:-3])


def test_one_thread_encode_equals_two_thread_decode(tmp_path, sample_image_path):
    stream, recon, decoded = tmp_path / "a.clb", tmp_path / "recon.png", tmp_path / "decoded.png"
    run = "import sys, torch; torch.set_num_threads(int(sys.argv[1])); from codeclab.cli import main; sys.exit(main(sys.argv[2:]))"
    subprocess.run([sys.executable, "-c", run, "1", "encode", str(sample_image_path), "-o", str(stream),
                    "--codec", "overfit", "--quality", "4", "--effort", "20", "--recon", str(recon)], check=True)
    subprocess.run([sys.executable, "-c", run, "2", "decode", str(stream), "-o", str(decoded)], check=True)
    assert torch.equal(read_image(recon), read_image(decoded))


def test_cli_effort_errors(tmp_path, sample_image_path, capsys):
    out = tmp_path / "x.clb"
    assert cli_main(["encode", str(sample_image_path), "-o", str(out), "--codec", "overfit", "-q", "3",
                     "--effort", "turbo"]) == 2
    assert "unknown effort" in capsys.readouterr().err
    assert cli_main(["encode", str(sample_image_path), "-o", str(out), "--codec", "jpeg", "-q", "50",
                     "--effort", "fast"]) == 2
    assert "takes no encoder options" in capsys.readouterr().err
    assert cli_main(["encode", str(sample_image_path), "-o", str(out), "--codec", "overfit", "-q", "3",
                     "--device", "nonsense"]) == 2
    assert "--device nonsense" in capsys.readouterr().err
    assert not out.exists()


def test_same_picture_same_stream(crop):
    codec = get_codec("overfit").configure(effort=5)
    small = crop[:, :24, :32]
    assert api.encode_image(small, codec, 3.0).data == api.encode_image(small, codec, 3.0).data


def test_effort_presets():
    assert effort_of("fast").iterations < effort_of("medium").iterations < effort_of("slow").iterations
    assert effort_of(123).iterations == 123 and effort_of("77").iterations == 77
    with pytest.raises(ValueError):
        effort_of("turbo")
    assert Architecture().macs_per_pixel() < 2000
