"""The exact-picture checks of rfb_viewers_interop.py on synthetic images: needs no X."""

import os
import tempfile
import unittest

import rfb_viewers_interop as rvi
from processes import TestFailure
from screen_picture import RgbImage


def picture(width, height, seed):
    return RgbImage(width, height, bytes((seed + i * 7) % 256 for i in range(width * height * 3)))


def embed(outer, inner, x, y):
    rgb = bytearray(outer.rgb)
    for r in range(inner.height):
        at = ((y + r) * outer.width + x) * 3
        rgb[at:at + inner.width * 3] = inner.rgb[r * inner.width * 3:(r + 1) * inner.width * 3]
    return RgbImage(outer.width, outer.height, bytes(rgb))


class FindExactTest(unittest.TestCase):
    def test_finds_the_picture_where_it_is(self):
        inner = picture(5, 4, 1)
        self.assertEqual(rvi.find_exact(embed(RgbImage(20, 10, bytes(600)), inner, 7, 3), inner),
                         (7, 3))

    def test_one_changed_pixel_is_no_match(self):
        inner = picture(5, 4, 1)
        image = bytearray(embed(RgbImage(20, 10, bytes(600)), inner, 7, 3).rgb)
        image[((3 + 2) * 20 + 7 + 4) * 3 + 1] ^= 1  # row 2, last column, green
        self.assertIsNone(rvi.find_exact(RgbImage(20, 10, bytes(image)), inner))

    def test_a_picture_cut_by_the_edge_is_no_match(self):
        inner = picture(5, 4, 1)
        image = embed(RgbImage(20, 10, bytes(600)), RgbImage(3, 4, bytes(
            b for r in range(4) for b in inner.rgb[r * 15:r * 15 + 9])), 17, 0)
        self.assertIsNone(rvi.find_exact(image, inner))

    def test_a_row_wrapping_into_the_next_is_no_match(self):
        inner = RgbImage(4, 1, bytes(range(12)))
        # 5x2: the last two pixels of row 0 and the first two of row 1 hold those bytes in a row.
        image = RgbImage(5, 2, bytes(9) + bytes(range(6)) + bytes(range(6, 12)) + bytes(9))
        self.assertEqual(image.rgb.find(inner.rgb), 9)
        self.assertIsNone(rvi.find_exact(image, inner))


class ReadPpmTest(unittest.TestCase):
    def test_reads_a_p6_with_a_comment(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.ppm")
            with open(path, "wb") as f:
                f.write(b"P6\n# made by hand\n2 1\n255\n" + bytes(range(6)))
            image = rvi.read_ppm(path)
        self.assertEqual((image.width, image.height, image.rgb), (2, 1, bytes(range(6))))

    def test_a_short_file_is_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.ppm")
            with open(path, "wb") as f:
                f.write(b"P6 2 2 255\n" + bytes(5))
            with self.assertRaises(TestFailure):
                rvi.read_ppm(path)


if __name__ == "__main__":
    unittest.main()
