"""Just enough PNG decoding to compare two browser screenshots pixel by pixel (no imaging library).

Chromium writes 8-bit RGB or RGBA, non-interlaced; anything else is refused rather than misread.
"""

from __future__ import annotations

import struct
import zlib

_CHANNELS = {2: 3, 6: 4}  # colour type -> samples per pixel (RGB, RGBA)


def pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows) of raw samples, each row `width * channels` bytes."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, data, header = 8, b"", b""
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        chunk = png[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            data += chunk
        offset += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in _CHANNELS and interlace == 0, (depth, colour, interlace)
    size = _CHANNELS[colour]
    raw = zlib.decompress(data)
    stride = width * size
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up = previous[x]
            corner = previous[x - size] if x >= size else 0
            line[x] = (line[x] + _predict(kind, left, up, corner)) & 0xFF
        rows.append(bytes(line))
        previous = bytes(line)
    return width, height, rows


def _predict(kind: int, left: int, up: int, corner: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    estimate = left + up - corner  # Paeth
    candidates = (
        (abs(estimate - left), 0, left),
        (abs(estimate - up), 1, up),
        (abs(estimate - corner), 2, corner),
    )
    return min(candidates)[2]  # ties go to left, then up, as the PNG spec orders them


def differing_share(first: bytes, second: bytes, tolerance: int = 24) -> float:
    """The share of samples (pixel channels) differing by more than `tolerance` (anti-aliasing noise)."""
    width, height, rows_a = pixels(first)
    other_width, other_height, rows_b = pixels(second)
    assert (width, height) == (other_width, other_height)
    differing = sum(
        1
        for row_a, row_b in zip(rows_a, rows_b, strict=True)
        for a, b in zip(row_a, row_b, strict=True)
        if abs(a - b) > tolerance
    )
    return differing / (width * height * (len(rows_a[0]) // width))
