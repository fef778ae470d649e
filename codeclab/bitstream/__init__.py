"""Bitstreams: the ``.clb`` container and bit-level syntax (``u(n)``, ``ue(v)``, ``se(v)``)."""

from codeclab.bitstream.bits import BitReader, BitWriter, read_uleb128, uleb128
from codeclab.bitstream.container import (FORMAT_VERSION, MAGIC, ColorFormat, Container, Matrix, Range,
                                          StreamHeader, parse, serialize)

__all__ = ["BitReader", "BitWriter", "read_uleb128", "uleb128", "MAGIC", "FORMAT_VERSION", "ColorFormat", "Container",
           "Matrix", "Range", "StreamHeader", "parse", "serialize"]
