#include "engine/rfb/resume.h"

#include <algorithm>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/encodings.h"
#include "engine/rfb/input_state.h"
#include "engine/rfb/rect_body.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/viewer_queue.h"

namespace pvb::rfb {

std::vector<int32_t> filter_encodings_for_resume(std::span<const int32_t> requested,
                                                 const PixelFormat* format) {
  std::vector<int32_t> kept = filter_encodings(requested, format);
  std::erase_if(kept, [](int32_t e) { return e == kEncodingZlib || e == kEncodingZrle; });
  return kept;
}

void write_set_pixel_format(const PixelFormat& format, ByteChain& out) {
  uint8_t b[4 + PixelFormat::kWireLength] = {kSetPixelFormat};
  format.write(b + 4);
  out.append_header(b, sizeof b);
}

void write_update_request(bool incremental, uint16_t x, uint16_t y, uint16_t w, uint16_t h,
                          ByteChain& out) {
  uint8_t b[10] = {kFramebufferUpdateRequest, static_cast<uint8_t>(incremental ? 1 : 0)};
  put_u16(b + 2, x);
  put_u16(b + 4, y);
  put_u16(b + 6, w);
  put_u16(b + 8, h);
  out.append_header(b, sizeof b);
}

ResizeResult write_resize(uint16_t old_w, uint16_t old_h, uint16_t new_w, uint16_t new_h,
                          std::span<const int32_t> viewer_encodings, ByteChain& to_viewer) {
  if (old_w == new_w && old_h == new_h) return ResizeResult::same_size;
  auto announced = [&](int32_t e) {
    return std::find(viewer_encodings.begin(), viewer_encodings.end(), e) != viewer_encodings.end();
  };
  const bool extended = announced(kPseudoExtendedDesktopSize);
  if (!extended && !announced(kPseudoDesktopSize)) return ResizeResult::cannot_resize;
  // FramebufferUpdate header, one rectangle.
  uint8_t b[4 + kRectHeaderLength + 4 + 16] = {kFramebufferUpdate, 0};
  put_u16(b + 2, 1);
  uint8_t* r = b + 4;
  put_u16(r + 0, 0);  // x (ExtendedDesktopSize: the reason, 0 = the server's change)
  put_u16(r + 2, 0);  // y (ExtendedDesktopSize: the status, 0 = no error)
  put_u16(r + 4, new_w);
  put_u16(r + 6, new_h);
  put_s32(r + 8, extended ? kPseudoExtendedDesktopSize : kPseudoDesktopSize);
  size_t n = 4 + kRectHeaderLength;
  if (extended) {
    uint8_t* s = b + n;
    s[0] = 1;  // number-of-screens, then 3 bytes of padding
    uint8_t* screen = s + 4;
    // Screen id 1, not QEMU's 0: libvncclient 0.9.14 (Debian 12) ignores a screen whose id is 0
    // and would keep its old size. The id is the server's to choose.
    put_u32(screen + 0, 1);  // id
    put_u16(screen + 4, 0);  // x
    put_u16(screen + 6, 0);  // y
    put_u16(screen + 8, new_w);
    put_u16(screen + 10, new_h);
    put_u32(screen + 12, 0);  // flags
    n += 4 + 16;
  }
  to_viewer.append_header(b, n);
  return ResizeResult::announced;
}

void write_resume_to_server(const PixelFormat& viewer_format,
                            std::span<const int32_t> encodings_to_send, uint16_t width,
                            uint16_t height, InputStateTracker& input, ViewerQueue& queue,
                            ByteChain& to_server) {
  write_set_pixel_format(viewer_format, to_server);
  write_set_encodings(encodings_to_send, to_server);
  input.write_releases(to_server);
  write_update_request(false, 0, 0, width, height, to_server);
  queue.drain_to(to_server, &input);
}

}  // namespace pvb::rfb
