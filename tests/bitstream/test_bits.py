"""Bit writer/reader: u(n), ue(v), se(v) against the code tables of H.265 §9.2."""

from __future__ import annotations

import random

import pytest

from codeclab.bitstream import BitReader, BitWriter, read_uleb128, uleb128
from codeclab.errors import BitstreamError


def bits_of(write) -> str:
    w = BitWriter()
    write(w)
    n = w.bit_count
    return "".join(f"{b:08b}" for b in w.getvalue())[:n]


@pytest.mark.parametrize("value, code", [(0, "1"), (1, "010"), (2, "011"), (3, "00100"),
                                         (4, "00101"), (6, "00111"), (7, "0001000"), (14, "0001111")])
def test_ue_matches_the_standard_table(value, code):
    assert bits_of(lambda w: w.write_ue(value)) == code


@pytest.mark.parametrize("value, code_num", [(0, 0), (1, 1), (-1, 2), (2, 3), (-2, 4), (3, 5)])
def test_se_mapping_of_table_9_3(value, code_num):
    assert bits_of(lambda w: w.write_se(value)) == bits_of(lambda w: w.write_ue(code_num))


def test_random_syntax_round_trips():
    rng = random.Random(1234)
    ops = []
    w = BitWriter()
    for _ in range(2000):
        kind = rng.choice("uesf")
        if kind == "u":
            n = rng.randint(0, 40)
            v = rng.getrandbits(n) if n else 0
            w.write(v, n)
        elif kind == "e":
            v = rng.choice([rng.randint(0, 10), rng.randint(0, 1 << 31)])
            w.write_ue(v)
        elif kind == "s":
            v = rng.randint(-(1 << 20), 1 << 20)
            w.write_se(v)
        else:
            v = rng.random() < 0.5
            w.write_flag(v)
            n = 1
        ops.append((kind, v, n if kind == "u" else None))
    r = BitReader(w.getvalue())
    for kind, v, n in ops:
        got = {"u": lambda: r.read(n), "e": r.read_ue, "s": r.read_se, "f": r.read_flag}[kind]()
        assert got == v
    assert r.bits_left < 8


def test_align_pads_with_zero_bits():
    w = BitWriter()
    w.write(0b101, 3)
    w.align()
    w.write(0xAB, 8)
    assert w.getvalue() == bytes([0b10100000, 0xAB])
    r = BitReader(w.getvalue())
    assert r.read(3) == 0b101
    r.align()
    assert r.read(8) == 0xAB


def test_reading_past_the_end_raises():
    r = BitReader(b"\xff")
    r.read(5)
    with pytest.raises(BitstreamError):
        r.read(4)


def test_all_zero_bytes_do_not_make_a_huge_exp_golomb_value():
    with pytest.raises(BitstreamError):
        BitReader(bytes(100)).read_ue()


def test_writer_rejects_values_that_do_not_fit():
    with pytest.raises(ValueError):
        BitWriter().write(8, 3)
    with pytest.raises(ValueError):
        BitWriter().write_ue(-1)


@pytest.mark.parametrize("value, code", [(0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"),
                                         (16384, "808001"), (2 ** 32 - 1, "ffffffff0f")])
def test_uleb128_known_codes(value, code):
    """AV1's leb128() / DWARF's ULEB128: 7 bits per byte, low group first, top bit = more."""
    assert uleb128(value).hex() == code
    assert read_uleb128(b"\xaa" + bytes.fromhex(code) + b"\x55", 1) == (value, 1 + len(code) // 2)


def test_damaged_uleb128_is_a_bitstream_error():
    for damaged in (b"", b"\x80", b"\xff\xff", b"\xff" * 6):
        with pytest.raises(BitstreamError, match="size:"):
            read_uleb128(damaged, 0, "size")
    with pytest.raises(ValueError):
        uleb128(2 ** 32)
