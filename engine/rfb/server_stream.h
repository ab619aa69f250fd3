// Delimits what the server (the Proxmox node) sends after ServerInit, one unit at a time: a
// message, or for a FramebufferUpdate its 4-byte header and then each rectangle on its own (its
// 12-byte header and body), so a reconnect can forward whole rectangles and rewrite Tight's
// control byte. Looks at bytes in a ByteChain without copying or consuming them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/rfb/delimited.h"
#include "engine/rfb/pixel_format.h"
#include "engine/rfb/rect_body.h"

namespace pvb::rfb {

enum class ServerUnitKind : uint8_t {
  update_header,              // FramebufferUpdate's type, padding, rectangle count (4 bytes)
  rect,                       // one rectangle of the current update
  set_colour_map_entries,     // 1
  bell,                       // 2
  cut_text,                   // 3 (a negative length is the extended clipboard)
  end_of_continuous_updates,  // 150
  fence,                      // 248
  xvp,                        // 250
  qemu_audio,                 // 255, subtype 1
};

struct ServerUnit {
  ServerUnitKind kind = ServerUnitKind::bell;
  uint64_t length = 0;       // of the whole unit, headers included
  uint16_t rect_count = 0;   // update_header: as sent (0xFFFF: until LastRect, at most 65535)
  RectHeader rect;           // rect
  uint64_t body_length = 0;  // rect: length - 12
  uint32_t rect_index = 0;   // rect: 0 for the first rectangle of its update
  bool ends_update = false;  // update_header with no rects, or the update's last rect/LastRect
  RectInfo info;             // rect: Tight's control byte and stream, AlphaCursor's inner encoding
};

class RfbServerStream {
 public:
  // The pixel format and size from ServerInit.
  RfbServerStream(const PixelFormat& format, uint16_t width, uint16_t height);

  // The viewer's SetPixelFormat: rectangles are in the new format from now on. (As gtk-vnc and
  // libvncclient do: a server that sends updates in the old format after receiving it would
  // confuse the viewer too; QEMU applies it before the next update.)
  void set_pixel_format(const PixelFormat& format) { format_ = format; }
  // The SetEncodings list the server was sent: enables the extension messages it allows.
  void set_client_encodings(std::span<const int32_t> encodings);

  // Looks at the unit starting at `offset` in `in`. On a protocol error the stream is dead: every
  // later call returns the same error.
  Result<Delimited<ServerUnit>> next(const ByteChain& in, size_t offset = 0);

  const PixelFormat& pixel_format() const { return format_; }
  uint16_t width() const { return width_; }  // as changed by DesktopSize/ExtendedDesktopSize
  uint16_t height() const { return height_; }
  bool in_update() const { return rects_left_ > 0; }

 private:
  Result<Delimited<ServerUnit>> next_rect(const ChainView& v);
  Result<Delimited<ServerUnit>> next_message(const ChainView& v);
  Result<Delimited<ServerUnit>> fail(Error e);

  PixelFormat format_;
  uint16_t width_, height_;
  bool continuous_updates_ = false, fence_ = false, xvp_ = false, qemu_audio_ = false;
  uint32_t rects_left_ = 0;  // rectangles still to come in the current update
  uint32_t rect_index_ = 0;
  BodyScan scan_;  // progress through the current rectangle's body
  Error error_;
};

}  // namespace pvb::rfb
