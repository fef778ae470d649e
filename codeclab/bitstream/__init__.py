"""Bitstreams: the ``.clb`` container and bit-level syntax (``u(n)``, ``ue(v)``, ``se(v)``)."""

from .bits import BitReader, BitWriter
from .container import (MAGIC, FORMAT_VERSION, ColorFormat, Container, Matrix, Range,
                        StreamHeader, parse, serialize)

__all__ = ["BitReader", "BitWriter", "MAGIC", "FORMAT_VERSION", "ColorFormat", "Container",
           "Matrix", "Range", "StreamHeader", "parse", "serialize"]
