"""The screenshot checks the interop test relies on, on synthetic images (no X needed): the fake
VM's picture is found where it is, also scaled, and nothing else passes for it."""

import os
import struct
import tempfile
import unittest
import zlib

import screen_picture
from screen_picture import BARS, PANEL, RgbImage

CHROME = (0x30, 0x30, 0x30)  # a viewer's header bar and borders


class Canvas:
    def __init__(self, width, height, colour=(0, 0, 0)):
        self.width, self.height = width, height
        self.rgb = bytearray(bytes(colour) * (width * height))

    def fill(self, x, y, w, h, colour):
        w = min(w, self.width - x)
        row = bytes(colour) * w
        for yy in range(y, min(y + h, self.height)):
            i = (yy * self.width + x) * 3
            self.rgb[i:i + len(row)] = row

    def image(self):
        return RgbImage(self.width, self.height, bytes(self.rgb))


def viewer_window(bars=BARS, bar_width=80, blend=0, panel=True):
    """A viewer window around the fake VM's screen: chrome on top, bars, then the name panel.
    blend > 0 puts that many pixels of a mixed colour between bars, as scaling does."""
    screen_w, screen_h = bar_width * len(bars), bar_width * 6
    canvas = Canvas(screen_w + 10, screen_h + 56, CHROME)
    left, top = 5, 51
    bars_h = screen_h * 2 // 3
    for i, colour in enumerate(bars):
        canvas.fill(left + i * bar_width, top, bar_width, bars_h, colour)
        if blend and i > 0:
            mixed = tuple((a + b) // 2 for a, b in zip(bars[i - 1], colour))
            canvas.fill(left + i * bar_width - blend // 2, top, blend, bars_h, mixed)
    panel_colour = PANEL if panel else (0, 0, 0)
    canvas.fill(left, top + bars_h, screen_w, screen_h - bars_h, panel_colour)
    canvas.fill(left + screen_w // 4, top + bars_h + 20, screen_w // 2, 30, (255, 255, 255))
    return canvas.image(), top, bars_h


class FindTestPatternTest(unittest.TestCase):
    def test_finds_the_fake_vm_picture_with_its_geometry(self):
        image, top, bars_h = viewer_window()
        found = screen_picture.find_test_pattern(image)
        self.assertIsNotNone(found)
        self.assertEqual(found.left, 5)
        self.assertAlmostEqual(found.bar_width, 80, delta=0.5)
        self.assertTrue(top <= found.row < top + bars_h)
        self.assertEqual(found.panel_row, top + bars_h)

    def test_finds_a_scaled_picture_with_blended_edges(self):
        image, _, _ = viewer_window(bar_width=37, blend=3)
        found = screen_picture.find_test_pattern(image)
        self.assertIsNotNone(found)
        self.assertAlmostEqual(found.bar_width, 37, delta=3)

    def test_a_blank_window_is_not_the_picture(self):
        for colour in ((0, 0, 0), (255, 255, 255), CHROME):
            with self.subTest(colour=colour):
                blank = Canvas(650, 536, colour).image()
                self.assertIsNone(screen_picture.find_test_pattern(blank))

    def test_bars_out_of_order_are_not_the_picture(self):
        swapped = list(BARS)
        swapped[2], swapped[3] = swapped[3], swapped[2]
        image, _, _ = viewer_window(bars=swapped)
        self.assertIsNone(screen_picture.find_test_pattern(image))

    def test_a_missing_bar_is_not_the_picture(self):
        image, _, _ = viewer_window(bars=BARS[:4] + BARS[5:])
        self.assertIsNone(screen_picture.find_test_pattern(image))

    def test_bars_without_the_name_panel_are_not_the_picture(self):
        image, _, _ = viewer_window(panel=False)
        self.assertIsNone(screen_picture.find_test_pattern(image))

    def test_distinct_colours_counts_each_colour_once(self):
        image, _, _ = viewer_window()
        # The eight bars, the chrome and the panel (the text is the white of the first bar).
        self.assertEqual(screen_picture.distinct_colours(image), len(BARS) + 2)
        self.assertEqual(screen_picture.distinct_colours(Canvas(4, 4).image()), 1)


class WritePngTest(unittest.TestCase):
    def test_round_trips_the_pixels(self):
        image, _, _ = viewer_window(bar_width=9)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "shot.png")
            screen_picture.write_png(image, path)
            with open(path, "rb") as f:
                data = f.read()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        chunks, pos = {}, 8
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + length]
            crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
            self.assertEqual(crc, zlib.crc32(kind + body), kind)
            chunks[kind] = body
            pos += 12 + length
        width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
        self.assertEqual((width, height, depth, colour_type), (image.width, image.height, 8, 2))
        raw = zlib.decompress(chunks[b"IDAT"])
        stride = width * 3
        rows = [raw[y * (stride + 1):(y + 1) * (stride + 1)] for y in range(height)]
        self.assertTrue(all(r[0] == 0 for r in rows))  # filter type None
        self.assertEqual(b"".join(r[1:] for r in rows), image.rgb)
        self.assertIn(b"IEND", chunks)


if __name__ == "__main__":
    unittest.main()
