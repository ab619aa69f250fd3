#include "engine/rfb/server_gate.h"

#include <algorithm>
#include <string>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/chain_view.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/tight.h"

namespace pvb::rfb {
namespace {

// Units a break can cut and zero bytes complete: pixels (black) and audio samples (silence).
bool paddable(const ServerUnit& u) {
  return (u.kind == ServerUnitKind::rect && u.rect.encoding == kEncodingRaw) ||
         (u.kind == ServerUnitKind::qemu_audio && u.length > 4);
}

// n zero bytes, as slices of one shared zero block (a cut-off Raw rectangle may be large).
void append_zeros(ByteChain& out, uint64_t n) {
  if (n == 0) return;
  ByteChain zeros;
  const size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, Block::kLargeCapacity));
  auto space = zeros.reserve(chunk, chunk);
  std::fill(space.begin(), space.begin() + static_cast<std::ptrdiff_t>(chunk), uint8_t{0});
  zeros.commit(chunk);
  const Slice& whole = zeros.front();
  while (n > 0) {
    Slice piece = whole;
    piece.end = piece.begin + static_cast<uint32_t>(std::min<uint64_t>(n, whole.size()));
    n -= piece.size();
    out.append_slice(std::move(piece));
  }
}

void append_rect_header(uint16_t x, uint16_t y, uint16_t w, uint16_t h, int32_t encoding,
                        ByteChain& out) {
  uint8_t b[kRectHeaderLength];
  put_u16(b, x);
  put_u16(b + 2, y);
  put_u16(b + 4, w);
  put_u16(b + 6, h);
  put_s32(b + 8, encoding);
  out.append_header(b, sizeof b);
}

}  // namespace

ServerGate::ServerGate(const PixelFormat& format, uint16_t width, uint16_t height,
                       uint64_t max_held)
    : stream_(format, width, height),
      max_held_(max_held),
      viewer_width_(width),
      viewer_height_(height) {}

void ServerGate::set_client_encodings(std::span<const int32_t> encodings) {
  stream_.set_client_encodings(encodings);
  last_rect_ = std::find(encodings.begin(), encodings.end(), kPseudoLastRect) != encodings.end();
}

Result<uint64_t> ServerGate::advance(ByteChain& in) {
  if (cut_) return ready_;
  for (;;) {
    if (pending_) {
      const uint64_t end = pending_end_;
      if (in.size() < end) {
        if (pending_streams_) ready_ = in.size();
        break;
      }
      ready_ = next_ = end;
      pending_ = false;
      if (!pending_streams_) {
        name_unnamed_screen(pending_unit_, in, end - pending_unit_.length);
        released(pending_unit_);
      }
    }
    auto r = stream_.next(in, static_cast<size_t>(next_));
    if (!r.ok()) return r.error();
    if (!r->found()) break;
    const ServerUnit& u = *r->unit;
    // The delimiter has read whatever decides the length, Tight's control byte included.
    reset_tight_streams(u, in, next_);
    pending_ = true;
    pending_end_ = next_ + u.length;
    pending_unit_ = u;
    pending_paddable_ = paddable(u);
    pending_streams_ = pending_paddable_ || u.length > max_held_;
    // A streaming unit reaches the viewer whole one way or another (padded, or the session ends).
    if (pending_streams_) released(u);
  }
  return ready_;
}

void ServerGate::forwarded(uint64_t n) {
  n = std::min(n, ready_);
  ready_ -= n;
  next_ -= std::min(n, next_);  // (while a unit streams, next_ is not used)
  pending_end_ -= std::min(n, pending_end_);
}

void ServerGate::released(const ServerUnit& u) {
  switch (u.kind) {
    case ServerUnitKind::update_header:
      in_update_ = u.rect_count > 0;
      count_ = u.rect_count;
      rects_ = 0;
      break;
    case ServerUnitKind::rect:
      ++rects_;
      if (u.ends_update) in_update_ = false;
      switch (u.rect.encoding) {
        case kPseudoExtendedDesktopSize:
          if (u.rect.y != 0) break;  // a refused SetDesktopSize: no change
          [[fallthrough]];
        case kPseudoDesktopSize:
        case kPseudoVmwareDisplayModeChange:
          viewer_width_ = u.rect.w;
          viewer_height_ = u.rect.h;
          break;
        default:
          break;
      }
      break;
    default:
      break;
  }
}

void ServerGate::reset_tight_streams(const ServerUnit& u, ByteChain& in, uint64_t at) {
  if (pending_resets_ == 0 || u.kind != ServerUnitKind::rect) return;
  // (An AlphaCursor cannot nest Tight here: its RGBA format makes Tight's pixel size ambiguous,
  // so the delimiter refuses it.)
  if (u.rect.encoding != kEncodingTight) return;
  const uint64_t control = at + kRectHeaderLength;
  const uint8_t c = ChainView(in, static_cast<size_t>(control)).u8(0);
  if (c & 0x80) return;  // fill, JPEG: no zlib stream
  const uint8_t stream_bit = static_cast<uint8_t>(1u << ((c >> 4) & 0x03));
  if ((pending_resets_ & stream_bit) == 0) return;
  set_tight_stream_resets(in, static_cast<size_t>(control), stream_bit);
  pending_resets_ &= static_cast<uint8_t>(~stream_bit);
}

namespace {

// Writes one byte of `chain` in place (a held unit, not yet forwarded).
void set_chain_byte(ByteChain& chain, size_t offset, uint8_t value) {
  for (const Slice& s : chain.slices()) {
    if (offset < s.size()) {
      s.block->data()[s.begin + offset] = value;
      return;
    }
    offset -= s.size();
  }
}

}  // namespace

void ServerGate::name_unnamed_screen(const ServerUnit& u, ByteChain& in, uint64_t at) {
  if (u.kind != ServerUnitKind::rect || u.rect.encoding != kPseudoExtendedDesktopSize) return;
  // Body: number-of-screens (1), padding (3), then per screen id (4), x, y, w, h (2 each),
  // flags (4).
  constexpr size_t kScreens = kRectHeaderLength, kFirstId = kRectHeaderLength + 4;
  if (u.length < kFirstId + 16) return;
  const ChainView v(in, static_cast<size_t>(at));
  if (v.u8(kScreens) != 1 || v.u32(kFirstId) != 0) return;
  set_chain_byte(in, static_cast<size_t>(at) + kFirstId + 3, 1);
}

Error ServerGate::finish_cut(ByteChain& in, ByteChain& to_viewer) {
  if (cut_) {
    in.clear();
    return Error();
  }
  // Whatever arrived last may complete a unit. (A protocol error in the partial bytes changes
  // nothing: they are dropped, and the next session gets a new delimiter.)
  (void)advance(in);
  const uint64_t whole = ready_;
  to_viewer.move_from(in, static_cast<size_t>(whole));
  const uint64_t missing = pending_end_ > whole ? pending_end_ - whole : 0;
  in.clear();
  cut_ = true;
  const ServerUnit unit = pending_unit_;
  const bool cut_inside = pending_ && pending_streams_;
  pending_ = false;
  next_ = ready_ = pending_end_ = 0;
  if (cut_inside) {
    if (!pending_paddable_) {
      return Error(Errc::connection_lost,
                   "the link to the server broke inside a " + std::to_string(unit.length) +
                       "-byte " +
                       (unit.kind == ServerUnitKind::rect ? encoding_name(unit.rect.encoding)
                                                          : std::string("server")) +
                       " message the viewer was already receiving; it cannot be completed");
    }
    append_zeros(to_viewer, missing);
  }
  if (in_update_) {
    if (last_rect_) {
      append_rect_header(0, 0, 0, 0, kPseudoLastRect, to_viewer);
    } else {
      for (uint32_t i = rects_; i < count_; ++i) {
        append_rect_header(0, 0, 0, 0, kEncodingRaw, to_viewer);
      }
    }
    in_update_ = false;
  }
  return Error();
}

ResizeResult ServerGate::resume_session(uint16_t width, uint16_t height,
                                        std::span<const int32_t> encodings_sent,
                                        ByteChain& to_viewer) {
  const ResizeResult resize =
      write_resize(viewer_width_, viewer_height_, width, height, encodings_sent, to_viewer);
  if (resize == ResizeResult::cannot_resize) return resize;
  const PixelFormat format = stream_.pixel_format();
  stream_ = RfbServerStream(format, width, height);
  set_client_encodings(encodings_sent);
  viewer_width_ = width;
  viewer_height_ = height;
  cut_ = false;
  pending_ = false;
  next_ = ready_ = pending_end_ = 0;
  in_update_ = false;
  count_ = 0;
  rects_ = 0;
  pending_resets_ = 0x0F;
  return resize;
}

}  // namespace pvb::rfb
