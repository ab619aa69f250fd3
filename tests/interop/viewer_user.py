"""What a person does with remote-viewer, done on an Xvfb display: wait until the guest's
picture is in the window, look at it (a screenshot saved as PNG), and close the window.

Closing is a WM_DELETE_WINDOW message, exactly what the window's own close button (GTK draws
it in the header bar) or a window manager sends. remote-viewer then asks "Do you want to close
the session?" unless its settings say ask-quit=false; the test answers OK with a real click on
the dialog's OK button, the bottom right one of its two buttons.
"""

import time
from dataclasses import dataclass

import screen_picture
from processes import TestFailure
from x11_display import X11Error

VIEWER_CLASS = "remote-viewer"
_POLL_SECONDS = 0.2  # X has no event to await for "the picture arrived": look again
_RECLICK_SECONDS = 3.0


@dataclass
class Sighting:
    window: object
    pattern: object
    png: str


def viewer_windows(display):
    return [w for w in display.top_level_windows() if w.wm_class == VIEWER_CLASS]


def _main_window(display, title):
    for w in viewer_windows(display):
        if w.title.startswith(title) and w.width >= 100 and w.height >= 100:
            return w
    return None


def await_picture(display, title, deadline, png_path, log):
    """Waits until the viewer window titled `title...` shows the fake VM's test pattern; saves
    the window's screenshot to png_path (also when it never does, to see what went wrong)."""
    last_image, window = None, None
    while True:
        window = _main_window(display, title)
        if window is not None:
            try:
                last_image = display.capture(window.x, window.y, window.width, window.height)
            except X11Error as e:
                log("capture failed (window changing?): %s" % e)
                last_image = None
            if last_image is not None:
                pattern = screen_picture.find_test_pattern(last_image)
                if pattern is not None:
                    screen_picture.write_png(last_image, png_path)
                    log("picture found in window 0x%x %r %dx%d: bars at row %d, %.1f px wide, "
                        "%d colours; screenshot %s" %
                        (window.id, window.title, window.width, window.height, pattern.row,
                         pattern.bar_width, screen_picture.distinct_colours(last_image),
                         png_path))
                    return Sighting(window, pattern, png_path)
        if deadline.expired():
            break
        time.sleep(deadline.left(_POLL_SECONDS))
    titles = [w.title for w in viewer_windows(display)]
    if last_image is not None:
        screen_picture.write_png(last_image, png_path)
        raise TestFailure("the viewer window never showed the fake VM's colour bars (%d colours; "
                          "see %s)" % (screen_picture.distinct_colours(last_image), png_path))
    raise TestFailure("no remote-viewer window titled %r appeared (viewer windows: %r)" %
                      (title, titles))


def close_like_a_user(display, window, viewer_gone, deadline, dialog_png, log):
    """Closes the window and answers remote-viewer's confirmation with OK if it asks. Returns
    True if the dialog was answered. viewer_gone() tells when the viewer process has exited."""
    log("closing window 0x%x (WM_DELETE_WINDOW)" % window.id)
    display.close_window(window)
    clicks, last_click = 0, 0.0
    while not viewer_gone():
        dialog = _confirmation_dialog(display, window)
        # A click that came before the dialog was ready to take it is simply made again.
        if dialog is not None and time.monotonic() - last_click >= _RECLICK_SECONDS:
            if clicks == 0:
                screen_picture.write_png(
                    display.capture(dialog.x, dialog.y, dialog.width, dialog.height),
                    dialog_png)
            # GTK's message dialog: a row of two equal buttons at the bottom, OK on the right.
            x = dialog.x + dialog.width * 3 // 4
            y = dialog.y + dialog.height - 16
            log("confirmation dialog 0x%x %dx%d (screenshot %s): clicking OK at %d,%d" %
                (dialog.id, dialog.width, dialog.height, dialog_png, x, y))
            display.click(x, y)
            clicks, last_click = clicks + 1, time.monotonic()
        if deadline.expired():
            raise TestFailure("the viewer did not exit after its window was closed" +
                              (" and OK was clicked %d times" % clicks if clicks else ""))
        time.sleep(deadline.left(_POLL_SECONDS))
    return clicks > 0


def _confirmation_dialog(display, main_window):
    for w in viewer_windows(display):
        if w.id != main_window.id and w.width >= 100 and w.height >= 60:
            return w
    return None
