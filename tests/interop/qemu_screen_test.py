"""The QEMU screenshot check on synthetic images (no X, no QEMU needed): text on black inside a
viewer's chrome passes, also scaled; a black screen, chrome alone and the fake VM's bars do not."""

import unittest

import qemu_screen
from screen_picture import BARS, RgbImage

CHROME = (0x30, 0x30, 0x30)
VGA_GREY = (0xAA, 0xAA, 0xAA)


class Canvas:
    def __init__(self, width, height, colour):
        self.width, self.height = width, height
        self.rgb = bytearray(bytes(colour) * (width * height))

    def fill(self, x, y, w, h, colour):
        row = bytes(colour) * min(w, self.width - x)
        for yy in range(y, min(y + h, self.height)):
            i = (yy * self.width + x) * 3
            self.rgb[i:i + len(row)] = row

    def image(self):
        return RgbImage(self.width, self.height, bytes(self.rgb))


def viewer(width=720, height=400, text_rows=(), text_colour=VGA_GREY):
    """A window: chrome on top and around, the guest's black screen, text lines on it (each a
    run of 8x16 glyph-like dashes, as SeaBIOS's lines are)."""
    canvas = Canvas(width + 10, height + 56, CHROME)
    left, top = 5, 51
    canvas.fill(left, top, width, height, (0, 0, 0))
    for line in text_rows:
        for char in range(30):
            canvas.fill(left + char * 9, top + line * 16 + 4, 6, 2, text_colour)
    return canvas.image()


class QemuScreenTest(unittest.TestCase):
    def test_seabios_text_on_black_is_found(self):
        found = qemu_screen.find_qemu_screen(viewer(text_rows=(0, 1, 3)))
        self.assertIsNotNone(found)
        self.assertEqual(found.first_row, 51)
        self.assertEqual(found.display_rows, 400)  # text lines here are still mostly black
        self.assertEqual(found.text_pixels, 3 * 30 * 6 * 2)

    def test_a_scaled_down_screen_with_blended_text_is_found(self):
        blended = (0x90, 0x90, 0x90)
        self.assertIsNotNone(
            qemu_screen.find_qemu_screen(viewer(360, 200, text_rows=(0, 2), text_colour=blended)))

    def test_a_black_screen_is_blank(self):
        self.assertIsNone(qemu_screen.find_qemu_screen(viewer(text_rows=())))

    def test_chrome_alone_is_not_a_screen(self):
        self.assertIsNone(qemu_screen.find_qemu_screen(Canvas(730, 456, CHROME).image()))

    def test_the_fake_vms_bars_are_not_qemu(self):
        canvas = Canvas(650, 536, CHROME)
        for i, colour in enumerate(BARS):
            canvas.fill(5 + i * 80, 51, 80, 320, colour)
        self.assertIsNone(qemu_screen.find_qemu_screen(canvas.image()))


if __name__ == "__main__":
    unittest.main()
