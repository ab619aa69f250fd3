"""The few Xlib calls the interop test needs, through ctypes (libX11 ships with every X client).

What a user does to a viewer window, done without a window manager or any extra tool: find the
window, look at it (a screenshot of the root window's pixels where the window is), and close it
the way a window manager's close button does (a WM_DELETE_WINDOW client message), so the viewer
runs its own close path and exits with its own status.
"""

import ctypes
import ctypes.util
from dataclasses import dataclass

from screen_picture import RgbImage

# Xlib constants (X.h).
_SUCCESS = 0
_IS_VIEWABLE = 2
_Z_PIXMAP = 2
_LSB_FIRST = 0
_CLIENT_MESSAGE = 33
_ANY_PROPERTY_TYPE = 0
_ALL_PLANES = 0xFFFFFFFFFFFFFFFF

_Window = ctypes.c_ulong
_Atom = ctypes.c_ulong


class _ClientMessageEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", _Window),
        ("message_type", _Atom),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class _XEvent(ctypes.Union):
    # XEvent is a union padded to 24 longs.
    _fields_ = [("xclient", _ClientMessageEvent), ("pad", ctypes.c_long * 24)]


class _XErrorEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("resourceid", ctypes.c_ulong),
        ("serial", ctypes.c_ulong),
        ("error_code", ctypes.c_ubyte),
        ("request_code", ctypes.c_ubyte),
        ("minor_code", ctypes.c_ubyte),
    ]


class _XWindowAttributes(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("border_width", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("visual", ctypes.c_void_p),
        ("root", _Window),
        ("c_class", ctypes.c_int),
        ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int),
        ("backing_store", ctypes.c_int),
        ("backing_planes", ctypes.c_ulong),
        ("backing_pixel", ctypes.c_ulong),
        ("save_under", ctypes.c_int),
        ("colormap", ctypes.c_ulong),
        ("map_installed", ctypes.c_int),
        ("map_state", ctypes.c_int),
        ("all_event_masks", ctypes.c_long),
        ("your_event_mask", ctypes.c_long),
        ("do_not_propagate_mask", ctypes.c_long),
        ("override_redirect", ctypes.c_int),
        ("screen", ctypes.c_void_p),
    ]


class _XImage(ctypes.Structure):
    # Only the leading fields are read; the struct's function table follows them.
    _fields_ = [
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("xoffset", ctypes.c_int),
        ("format", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("byte_order", ctypes.c_int),
        ("bitmap_unit", ctypes.c_int),
        ("bitmap_bit_order", ctypes.c_int),
        ("bitmap_pad", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("bytes_per_line", ctypes.c_int),
        ("bits_per_pixel", ctypes.c_int),
        ("red_mask", ctypes.c_ulong),
        ("green_mask", ctypes.c_ulong),
        ("blue_mask", ctypes.c_ulong),
    ]


_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(_XErrorEvent))


class X11Error(Exception):
    pass


def load_libraries():
    """(libX11, libXtst), or None when either is not installed (the test then skips)."""
    try:
        x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        xtst = ctypes.CDLL(ctypes.util.find_library("Xtst") or "libXtst.so.6")
    except OSError:
        return None
    _declare(x11)
    xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                          ctypes.c_int, ctypes.c_ulong]
    xtst.XTestFakeButtonEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                                          ctypes.c_ulong]
    xtst.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                                       ctypes.c_ulong]
    return x11, xtst


def _declare(lib):
    p = ctypes.POINTER
    lib.XOpenDisplay.restype = ctypes.c_void_p
    lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    lib.XSetErrorHandler.restype = ctypes.c_void_p
    lib.XSetErrorHandler.argtypes = [ctypes.c_void_p]
    lib.XDefaultRootWindow.restype = _Window
    lib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    lib.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.XFree.argtypes = [ctypes.c_void_p]
    lib.XInternAtom.restype = _Atom
    lib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.XQueryTree.restype = ctypes.c_int
    lib.XQueryTree.argtypes = [ctypes.c_void_p, _Window, p(_Window), p(_Window),
                               p(p(_Window)), p(ctypes.c_uint)]
    lib.XGetWindowAttributes.restype = ctypes.c_int
    lib.XGetWindowAttributes.argtypes = [ctypes.c_void_p, _Window, p(_XWindowAttributes)]
    lib.XTranslateCoordinates.restype = ctypes.c_int
    lib.XTranslateCoordinates.argtypes = [ctypes.c_void_p, _Window, _Window, ctypes.c_int,
                                          ctypes.c_int, p(ctypes.c_int), p(ctypes.c_int),
                                          p(_Window)]
    lib.XGetWindowProperty.restype = ctypes.c_int
    lib.XGetWindowProperty.argtypes = [ctypes.c_void_p, _Window, _Atom, ctypes.c_long,
                                       ctypes.c_long, ctypes.c_int, _Atom, p(_Atom),
                                       p(ctypes.c_int), p(ctypes.c_ulong), p(ctypes.c_ulong),
                                       p(ctypes.c_void_p)]
    lib.XGetImage.restype = p(_XImage)
    lib.XGetImage.argtypes = [ctypes.c_void_p, _Window, ctypes.c_int, ctypes.c_int,
                              ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
    lib.XDestroyImage.argtypes = [p(_XImage)]
    lib.XKeysymToKeycode.restype = ctypes.c_ubyte
    lib.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    lib.XSendEvent.restype = ctypes.c_int
    lib.XSendEvent.argtypes = [ctypes.c_void_p, _Window, ctypes.c_int, ctypes.c_long,
                               p(_XEvent)]


@dataclass
class Window:
    id: int
    title: str
    wm_class: str  # the instance name, e.g. "remote-viewer"
    x: int  # position on the root window
    y: int
    width: int
    height: int


class X11Display:
    """A connection to one X display. X errors (a window that vanished while we looked at it)
    are recorded instead of ending the process, as Xlib's default handler would."""

    def __init__(self, libraries, name):
        self._lib, self._xtst = libraries
        self._errors = []
        self._handler = _ERROR_HANDLER(self._on_error)  # kept alive as long as we are
        self._lib.XSetErrorHandler(ctypes.cast(self._handler, ctypes.c_void_p))
        self._dpy = self._lib.XOpenDisplay(name.encode())
        if not self._dpy:
            raise X11Error("cannot open display " + name)
        self._root = self._lib.XDefaultRootWindow(self._dpy)

    def close(self):
        if self._dpy:
            self._lib.XCloseDisplay(self._dpy)
            self._dpy = None

    def _on_error(self, _dpy, event):
        self._errors.append(event.contents.error_code)
        return 0

    def _atom(self, name):
        return self._lib.XInternAtom(self._dpy, name.encode(), 0)

    def _synced_ok(self):
        """Waits for the server to process our requests; False if any of them failed."""
        self._lib.XSync(self._dpy, 0)
        failed = bool(self._errors)
        self._errors.clear()
        return not failed

    def _property(self, window, name):
        """A property's raw bytes, or None."""
        actual_type, actual_format = _Atom(), ctypes.c_int()
        count, after, data = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
        status = self._lib.XGetWindowProperty(
            self._dpy, window, self._atom(name), 0, 4096, 0, _ANY_PROPERTY_TYPE,
            ctypes.byref(actual_type), ctypes.byref(actual_format), ctypes.byref(count),
            ctypes.byref(after), ctypes.byref(data))
        if status != _SUCCESS or not data.value:
            return None
        try:
            # Format 32 items are C longs in client memory, whatever their width on the wire.
            unit = {8: 1, 16: 2, 32: ctypes.sizeof(ctypes.c_long)}[actual_format.value]
            return ctypes.string_at(data.value, unit * count.value)
        finally:
            self._lib.XFree(data)

    def _text_property(self, window, name):
        raw = self._property(window, name)
        return raw.decode("utf-8", "replace") if raw is not None else ""

    def top_level_windows(self):
        """The root's mapped (viewable) children, bottom to top."""
        root, parent = _Window(), _Window()
        children, count = ctypes.POINTER(_Window)(), ctypes.c_uint()
        if not self._lib.XQueryTree(self._dpy, self._root, ctypes.byref(root),
                                    ctypes.byref(parent), ctypes.byref(children),
                                    ctypes.byref(count)):
            raise X11Error("XQueryTree failed on the root window")
        ids = [children[i] for i in range(count.value)]
        if children:
            self._lib.XFree(children)
        windows = []
        for wid in ids:
            window = self._describe(wid)
            if window is not None:
                windows.append(window)
        return windows

    def _describe(self, wid):
        attrs = _XWindowAttributes()
        if not self._lib.XGetWindowAttributes(self._dpy, wid, ctypes.byref(attrs)):
            self._synced_ok()  # forget the BadWindow: it went away meanwhile
            return None
        if attrs.map_state != _IS_VIEWABLE:
            return None
        x, y, child = ctypes.c_int(), ctypes.c_int(), _Window()
        self._lib.XTranslateCoordinates(self._dpy, wid, self._root, 0, 0, ctypes.byref(x),
                                        ctypes.byref(y), ctypes.byref(child))
        title = self._text_property(wid, "_NET_WM_NAME") or self._text_property(wid, "WM_NAME")
        wm_class = self._text_property(wid, "WM_CLASS").split("\0")[0]
        if not self._synced_ok():
            return None  # it went away while we looked
        return Window(wid, title, wm_class, x.value, y.value, attrs.width, attrs.height)

    def capture(self, x=0, y=0, width=None, height=None):
        """What the screen shows in that rectangle (clipped to the screen), as RGB."""
        attrs = _XWindowAttributes()
        self._lib.XGetWindowAttributes(self._dpy, self._root, ctypes.byref(attrs))
        width = attrs.width if width is None else width
        height = attrs.height if height is None else height
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(attrs.width, x + width), min(attrs.height, y + height)
        if x1 <= x0 or y1 <= y0:
            raise X11Error("the rectangle is off the screen")
        image = self._lib.XGetImage(self._dpy, self._root, x0, y0, x1 - x0, y1 - y0,
                                    _ALL_PLANES, _Z_PIXMAP)
        if not image:
            self._synced_ok()
            raise X11Error("XGetImage failed")
        try:
            return _to_rgb(image.contents)
        finally:
            self._lib.XDestroyImage(image)

    def close_window(self, window):
        """Asks the window's client to close it, as a window manager's close button does."""
        event = _XEvent()
        event.xclient.type = _CLIENT_MESSAGE
        event.xclient.window = window.id
        event.xclient.message_type = self._atom("WM_PROTOCOLS")
        event.xclient.format = 32
        event.xclient.data[0] = self._atom("WM_DELETE_WINDOW")
        event.xclient.data[1] = 0  # CurrentTime
        sent = self._lib.XSendEvent(self._dpy, window.id, 0, 0, ctypes.byref(event))
        if not self._synced_ok() or not sent:
            raise X11Error("could not send WM_DELETE_WINDOW to window 0x%x" % window.id)


    def click(self, x, y):
        """A left click at that point of the screen, through the XTEST extension: the server
        delivers it like a real mouse click, to whatever window is there."""
        self._xtst.XTestFakeMotionEvent(self._dpy, -1, x, y, 0)
        self._xtst.XTestFakeButtonEvent(self._dpy, 1, 1, 0)
        self._xtst.XTestFakeButtonEvent(self._dpy, 1, 0, 0)
        if not self._synced_ok():
            raise X11Error("XTEST click at %d,%d failed" % (x, y))

    def key(self, keysym, down):
        """A key press or release through XTEST, to the window that has the keyboard focus,
        as from a real keyboard. keysym: e.g. ord("a")."""
        keycode = self._lib.XKeysymToKeycode(self._dpy, keysym)
        if keycode == 0:
            raise X11Error("no key for keysym 0x%x on this display" % keysym)
        self._xtst.XTestFakeKeyEvent(self._dpy, keycode, 1 if down else 0, 0)
        if not self._synced_ok():
            raise X11Error("XTEST key event 0x%x failed" % keysym)


def _to_rgb(image):
    """A 24/32-bit TrueColor ZPixmap (what Xvfb -screen 0 WxHx24 gives) as packed RGB."""
    if (image.bits_per_pixel != 32 or image.red_mask != 0xFF0000 or
            image.green_mask != 0xFF00 or image.blue_mask != 0xFF):
        raise X11Error("unsupported screen format: %d bits per pixel, masks %x/%x/%x "
                       "(start Xvfb with a 24-bit screen)" %
                       (image.bits_per_pixel, image.red_mask, image.green_mask,
                        image.blue_mask))
    width, height, stride = image.width, image.height, image.bytes_per_line
    raw = ctypes.string_at(image.data, stride * height)
    if stride != width * 4:
        raw = b"".join(raw[row * stride:row * stride + width * 4] for row in range(height))
    # Each pixel is one 32-bit word: B G R X in memory when LSB first, X R G B otherwise.
    r, g, b = (2, 1, 0) if image.byte_order == _LSB_FIRST else (1, 2, 3)
    rgb = bytearray(width * height * 3)
    rgb[0::3] = raw[r::4]
    rgb[1::3] = raw[g::4]
    rgb[2::3] = raw[b::4]
    return RgbImage(width, height, bytes(rgb))
