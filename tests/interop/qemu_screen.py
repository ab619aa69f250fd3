"""Looking at a screenshot of a viewer showing a real QEMU (mock-pveproxy --qemu): is QEMU's
screen there, and not blank?

The guest has no disk: its screen is SeaBIOS's boot text (VGA text mode, light grey on pure
black), or before that QEMU's own "Guest has not initialized the display (yet)." (text on pure
black). A viewer's chrome is never pure black (GTK's dark header bars are dark grey), so the guest
display is found as the rows that are mostly pure black, and it is not blank when text shows
between the first and the last of them: enough bright pixels. A black screen without text, a viewer still connecting, or chrome
alone do not pass. Scaling only blends the text's edges: bright means each channel >= 0x80.
"""

from dataclasses import dataclass

_BLACK = b"\0\0\0"
_MIN_BLACK_SHARE = 0.5  # of a row, for it to belong to the guest display
_MIN_DISPLAY_ROWS = 100  # VGA text mode is 400 rows; a scaled-down one still has this many
_MIN_TEXT_PIXELS = 40  # a few characters of text
_BRIGHT = 0x80


@dataclass
class QemuScreen:
    display_rows: int  # rows mostly pure black
    text_pixels: int  # bright pixels from the first to the last of them
    first_row: int


def find_qemu_screen(image):
    """A QemuScreen when the image shows QEMU's text on black, else None."""
    stride = image.width * 3
    rows = [[image.rgb[y * stride + i:y * stride + i + 3] for i in range(0, stride, 3)]
            for y in range(image.height)]
    black_rows = [y for y, pixels in enumerate(rows)
                  if sum(1 for p in pixels if p == _BLACK) >= _MIN_BLACK_SHARE * image.width]
    if len(black_rows) < _MIN_DISPLAY_ROWS:
        return None
    # Lines of text may be less black than half: count the text between the first and last
    # black row.
    first, last = black_rows[0], black_rows[-1]
    text_pixels = sum(1 for y in range(first, last + 1) for p in rows[y] if min(p) >= _BRIGHT)
    if text_pixels < _MIN_TEXT_PIXELS:
        return None
    return QemuScreen(len(black_rows), text_pixels, first)
