"""Looking at a screenshot: is the fake VM's test pattern on it, and saving it as a PNG.

The fake VM (tests/fake_vm/framebuffer.cc) draws eight equal colour bars over the top two thirds
of its screen (white, yellow, cyan, green, magenta, red, blue, black) and a dark blue panel with
its name below. Finding that sequence in one row of the viewer's window proves more than "not
blank": the pixels crossed the bridge intact and in order. Viewers may scale the picture, so
the search looks for the order and equal widths, not for positions.
"""

import itertools
import struct
import zlib
from dataclasses import dataclass

BARS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0), (255, 0, 255),
        (255, 0, 0), (0, 0, 255), (0, 0, 0)]
PANEL = (0x10, 0x20, 0x40)
_TOLERANCE = 24  # per channel: room for a viewer's reduced colour depth
_MIN_BAR_WIDTH = 8
_MAX_EDGE_RUN = 3  # blended pixels between two bars when the viewer scales
_ROW_STEP = 4  # the bars are hundreds of rows tall: every 4th row is plenty


@dataclass
class RgbImage:
    width: int
    height: int
    rgb: bytes  # row by row, 3 bytes a pixel


@dataclass
class FoundPattern:
    row: int  # where the bars were found, in image coordinates
    left: int
    bar_width: float
    panel_row: int


def _matches(pixel, colour):
    return all(abs(a - b) <= _TOLERANCE for a, b in zip(pixel, colour))


def _classify(pixel):
    for i, colour in enumerate(BARS):
        if _matches(pixel, colour):
            return i
    return -1


def _runs(image, y, classes):
    """The row as [bar index or -1, start x, length] runs. classes caches _classify by pixel
    value: a screenshot has few distinct colours, and this runs on every row of every poll."""
    stride = image.width * 3
    row = image.rgb[y * stride:(y + 1) * stride]
    runs = []
    x = 0
    for value, same in itertools.groupby(row[i:i + 3] for i in range(0, stride, 3)):
        length = sum(1 for _ in same)
        kind = classes.get(value)
        if kind is None:
            kind = classes[value] = _classify(tuple(value))
        if runs and runs[-1][0] == kind:  # near-identical shades of one bar are one run
            runs[-1][2] += length
        else:
            runs.append([kind, x, length])
        x += length
    return runs


def _bars_in_row(image, y, classes):
    """(left x, mean bar width) if the row shows the eight bars in order, else None."""
    # Scaling blends neighbouring bars into a few pixels of other colours: drop those.
    runs = [r for r in _runs(image, y, classes) if r[2] > _MAX_EDGE_RUN]
    for start in range(len(runs) - len(BARS) + 1):
        window = runs[start:start + len(BARS)]
        if [r[0] for r in window] != list(range(len(BARS))):
            continue
        # The black bar may merge with a black background to its right: judge the seven others.
        widths = [r[2] for r in window[:-1]]
        mean = sum(widths) / len(widths)
        if mean < _MIN_BAR_WIDTH or window[-1][2] < 0.8 * mean:
            continue
        if all(abs(w - mean) <= max(2, 0.1 * mean) for w in widths):
            return window[0][1], mean
    return None


def _pixel(image, x, y):
    i = (y * image.width + x) * 3
    return image.rgb[i], image.rgb[i + 1], image.rgb[i + 2]


def _panel_below(image, y, left, bar_width):
    """(bars' last row, the panel's first row or None). The name panel must follow the bars
    within a few (blended) rows; it is checked across the middle half of the screen."""
    white_x = left + int(bar_width) // 2
    last = y
    while last + 1 < image.height and _matches(_pixel(image, white_x, last + 1), BARS[0]):
        last += 1
    span = int(bar_width * len(BARS))
    xs = range(left + span // 4, left + 3 * span // 4)
    for row in range(last + 1, min(image.height, last + 2 + _MAX_EDGE_RUN)):
        hits = sum(1 for x in xs if _matches(_pixel(image, x, row), PANEL))
        if hits >= len(xs) // 2:
            return last, row
    return last, None


def find_test_pattern(image):
    """The fake VM's picture in the image, or None."""
    classes = {}
    y = 0
    while y < image.height:
        found = _bars_in_row(image, y, classes)
        if found is None:
            y += _ROW_STEP
            continue
        left, bar_width = found
        last, panel_row = _panel_below(image, y, left, bar_width)
        if panel_row is not None:
            return FoundPattern(y, left, bar_width, panel_row)
        y = last + 1
    return None


def distinct_colours(image, limit=1000):
    """How many different colours the image has (stops counting at limit)."""
    seen = set()
    rgb = image.rgb
    for i in range(0, len(rgb), 3):
        seen.add(rgb[i:i + 3])
        if len(seen) >= limit:
            break
    return len(seen)


def write_png(image, path):
    """An 8-bit RGB PNG, no filtering: enough for a person to look at the screenshot."""
    stride = image.width * 3
    raw = b"".join(b"\0" + image.rgb[y * stride:(y + 1) * stride] for y in range(image.height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", image.width, image.height, 8, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
                chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
