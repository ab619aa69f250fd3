// The server-to-viewer side of a reconnectable splice (issue 14): lets the server's bytes reach
// the viewer only in whole units, so that when the link breaks mid-message the viewer's parser
// can be brought back to a message boundary; completes a FramebufferUpdate the break cut short;
// and on the next server session sets Tight's zlib-reset bits where the viewer needs them.
//
// Over RfbServerStream's units (server_stream.h):
// - A unit is held until all of it arrived, then released whole: rectangles, update headers,
//   every other message. Held units are bounded by max_held (default 16 MiB, the largest
//   ServerCutText): a larger unit cannot be held, so it streams, and a break inside it cannot
//   be hidden (finish_cut() says so).
// - Raw rectangles (and QEMU audio data) stream as they arrive whatever their size: a break inside
//   one is completed with zero bytes (black pixels, silence), which every viewer decodes; the
//   full update the resume asks for repaints them.
// - finish_cut(): after a break, releases what is whole, drops the partial unit, pads a streaming
//   one, then ends the FramebufferUpdate in progress: with one LastRect rectangle when the viewer
//   announced LastRect (rfbproto: such a viewer "will stop parsing when it reaches a LastRect
//   rectangle", whatever the count said; gtk-vnc, libvncclient, TigerVNC and noVNC all stop
//   there, and it is the only way to end an update counted 0xFFFF), else with one empty 0x0 Raw
//   rectangle per rectangle still owed (no body: nothing to decode, no bounds to break).
// - An ExtendedDesktopSize rectangle with one screen whose id is 0 (QEMU's) reaches the viewer
//   naming the screen 1: libvncclient (0.9.14: Remmina, KRDC, Veyon) takes id 0 for "no screen",
//   ignores the size change and then drops the connection on the first rectangle past its old
//   size (a guest switching modes). The id means nothing to QEMU, whose SetDesktopSize reads
//   only the size.
// - resume_session(): a new server session starts; the first Tight rectangle using each zlib
//   stream 0-3 gets its reset bit set (the new server's deflaters are fresh, the viewer's
//   inflaters are not).
//
// Use: after the server's bytes arrive in `in` (the bytes not yet forwarded, front first),
// advance(in) says how many bytes at the front may go to the viewer now; move them (in full or
// in part) and call forwarded(n). The gate's RfbServerStream is the splice's server delimiter:
// give it the viewer's SetPixelFormat and the encodings sent to the server through the gate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/rfb/resume.h"
#include "engine/rfb/server_stream.h"

namespace pvb::rfb {

class ServerGate {
 public:
  static constexpr uint64_t kDefaultMaxHeld = 16u << 20;

  // The viewer's pixel format and the framebuffer size from the first ServerInit.
  ServerGate(const PixelFormat& format, uint16_t width, uint16_t height,
             uint64_t max_held = kDefaultMaxHeld);

  // The viewer's SetPixelFormat, as it passes.
  void set_pixel_format(const PixelFormat& format) { stream_.set_pixel_format(format); }
  // The SetEncodings list sent to the server (after filtering), as it passes.
  void set_client_encodings(std::span<const int32_t> encodings);

  // Delimits what arrived; returns how many bytes at the front of `in` may go to the viewer.
  // May set Tight reset bits in `in` (in place, before the rectangle is released). On a protocol
  // error the server stream is dead (as RfbServerStream's).
  Result<uint64_t> advance(ByteChain& in);
  // The caller took n bytes (n <= what advance() returned) off the front of `in`.
  void forwarded(uint64_t n);

  // The link broke. Moves the releasable bytes of `in` to `to_viewer`, drops the rest of `in`,
  // and appends what the viewer is still owed so that its parser ends at a message boundary.
  // Errc::connection_lost when a break inside an unbounded non-Raw unit cannot be completed.
  // Afterwards, only resume_session() may follow.
  Error finish_cut(ByteChain& in, ByteChain& to_viewer);

  // A new server session of width x height (its ServerInit consumed; the viewer's pixel format
  // replayed to it; the encodings sent to it given here). Appends the DesktopSize or
  // ExtendedDesktopSize the viewer needs when the size changed (write_resize); on cannot_resize
  // the session cannot go on and the gate is unchanged. Else Tight resets are armed for streams
  // 0-3 and delimiting starts afresh.
  ResizeResult resume_session(uint16_t width, uint16_t height,
                              std::span<const int32_t> encodings_sent, ByteChain& to_viewer);

  // What the viewer decodes with: its SetPixelFormat, or a server's WMVi after it (a WMVi
  // rectangle is delimited only once whole, so it is never cut off).
  const PixelFormat& viewer_format() const { return stream_.pixel_format(); }
  // The framebuffer size the viewer knows (ServerInit, then DesktopSize/ExtendedDesktopSize).
  uint16_t viewer_width() const { return viewer_width_; }
  uint16_t viewer_height() const { return viewer_height_; }
  // True while a FramebufferUpdate is open (header released, rectangles owed).
  bool in_update() const { return in_update_; }
  // Tight reset bits still to set on this session (bit i: stream i).
  uint8_t pending_tight_resets() const { return pending_resets_; }
  const RfbServerStream& stream() const { return stream_; }

 private:
  // The viewer got all of u: its update bookkeeping and its size change.
  void released(const ServerUnit& u);
  // QEMU's screen id 0 in a held ExtendedDesktopSize unit at `at` becomes 1 (see above).
  void name_unnamed_screen(const ServerUnit& u, ByteChain& in, uint64_t at);
  void reset_tight_streams(const ServerUnit& u, ByteChain& in, uint64_t at);

  RfbServerStream stream_;
  uint64_t max_held_;
  bool last_rect_ = false;  // the server was sent LastRect (the viewer announced it)
  // Relative to the front of the caller's `in`:
  uint64_t next_ = 0;   // where the next unit starts (delimited up to here)
  uint64_t ready_ = 0;  // releasable bytes
  // A unit delimited but not yet released in full (held, or streaming).
  bool pending_ = false;
  bool pending_streams_ = false;  // streaming (released as it arrives)
  bool pending_paddable_ = false;
  uint64_t pending_end_ = 0;  // where it ends
  ServerUnit pending_unit_;
  // The update as the viewer will have it once every delimited unit is released.
  bool in_update_ = false;
  uint16_t count_ = 0;  // as the header said
  uint32_t rects_ = 0;  // rectangles delimited so far
  bool cut_ = false;    // finish_cut() done, resume_session() not yet
  uint16_t viewer_width_, viewer_height_;
  uint8_t pending_resets_ = 0;
};

}  // namespace pvb::rfb
