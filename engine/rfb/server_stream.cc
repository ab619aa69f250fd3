#include "engine/rfb/server_stream.h"

#include <string>

#include "engine/rfb/rfb_wire.h"

namespace pvb::rfb {
namespace {

using Step = Delimited<ServerUnit>;

ServerUnit message(ServerUnitKind kind, uint64_t length) {
  ServerUnit u;
  u.kind = kind;
  u.length = length;
  return u;
}

Error not_enabled(uint8_t type, const char* what, int32_t pseudo) {
  return Error(Errc::protocol, "server message " + std::to_string(type) + " (" + what +
                                   ") without the viewer announcing " + encoding_name(pseudo));
}

}  // namespace

RfbServerStream::RfbServerStream(const PixelFormat& format, uint16_t width, uint16_t height)
    : format_(format), width_(width), height_(height) {}

void RfbServerStream::set_client_encodings(std::span<const int32_t> encodings) {
  continuous_updates_ = fence_ = xvp_ = qemu_audio_ = false;
  for (int32_t e : encodings) {
    continuous_updates_ |= e == kPseudoContinuousUpdates;
    fence_ |= e == kPseudoFence;
    xvp_ |= e == kPseudoXvp;
    qemu_audio_ |= e == kPseudoQemuAudio;
  }
}

Result<Step> RfbServerStream::fail(Error e) {
  e.context("RFB from the server");
  error_ = e;
  return e;
}

Result<Step> RfbServerStream::next(const ByteChain& in, size_t offset) {
  if (error_.failed()) return error_;
  ChainView v(in, offset);
  return rects_left_ > 0 ? next_rect(v) : next_message(v);
}

Result<Step> RfbServerStream::next_rect(const ChainView& v) {
  if (!v.has(kRectHeaderLength)) return Step::need_bytes(kRectHeaderLength);
  ServerUnit u;
  u.kind = ServerUnitKind::rect;
  u.rect = read_rect_header(v);
  u.rect_index = rect_index_;
  auto body = rect_body_length(u.rect, format_, v.sub(kRectHeaderLength), scan_, &u.info);
  if (!body.ok()) return fail(body.error());
  if (!body->known) return Step::need_bytes(kRectHeaderLength + body->length);
  u.body_length = body->length;
  u.length = kRectHeaderLength + body->length;
  // What the rectangle changes for the ones after it.
  switch (u.rect.encoding) {
    case kPseudoVmwareDisplayModeChange: {
      uint8_t pf[PixelFormat::kWireLength];
      v.copy(kRectHeaderLength, pf, sizeof pf);
      PixelFormat f = PixelFormat::read(pf);
      if (f.bits_per_pixel != 8 && f.bits_per_pixel != 16 && f.bits_per_pixel != 32) {
        return fail(Error(Errc::protocol, "VMware display mode change to " +
                                              std::to_string(f.bits_per_pixel) + " bpp"));
      }
      format_ = f;
      width_ = u.rect.w;
      height_ = u.rect.h;
      break;
    }
    case kPseudoExtendedDesktopSize:
      if (u.rect.y != 0) break;  // y is the status: non-zero refuses a SetDesktopSize
      [[fallthrough]];
    case kPseudoDesktopSize:
      width_ = u.rect.w;
      height_ = u.rect.h;
      break;
    default:
      break;
  }
  scan_ = {};
  ++rect_index_;
  if (--rects_left_ == 0 || u.rect.encoding == kPseudoLastRect) {
    rects_left_ = 0;
    u.ends_update = true;
  }
  return Step::of(u);
}

Result<Step> RfbServerStream::next_message(const ChainView& v) {
  if (!v.has(1)) return Step::need_bytes(1);
  const uint8_t type = v.u8(0);
  switch (type) {
    case kFramebufferUpdate: {
      if (!v.has(4)) return Step::need_bytes(4);
      ServerUnit u = message(ServerUnitKind::update_header, 4);
      u.rect_count = v.u16(2);
      rects_left_ = u.rect_count;
      rect_index_ = 0;
      scan_ = {};
      u.ends_update = u.rect_count == 0;
      return Step::of(u);
    }
    case kSetColourMapEntries:
      // type, padding, first-colour, number-of-colours, then 6 bytes per colour.
      if (!v.has(6)) return Step::need_bytes(6);
      return Step::of(message(ServerUnitKind::set_colour_map_entries, 6 + 6 * uint64_t{v.u16(4)}));
    case kBell:
      return Step::of(message(ServerUnitKind::bell, 1));
    case kServerCutText: {
      // type, 3 bytes of padding, a length; negative: the extended clipboard, |length| bytes.
      if (!v.has(8)) return Step::need_bytes(8);
      const int64_t signed_length = v.s32(4);
      const uint64_t n = static_cast<uint64_t>(signed_length < 0 ? -signed_length : signed_length);
      if (n > kMaxCutTextLength) {
        return fail(Error(Errc::too_large, "ServerCutText of " + std::to_string(n) + " bytes"));
      }
      return Step::of(message(ServerUnitKind::cut_text, 8 + n));
    }
    case kEndOfContinuousUpdates:
      if (!continuous_updates_) {
        return fail(not_enabled(type, "EndOfContinuousUpdates", kPseudoContinuousUpdates));
      }
      return Step::of(message(ServerUnitKind::end_of_continuous_updates, 1));
    case kServerFence: {
      if (!fence_) return fail(not_enabled(type, "ServerFence", kPseudoFence));
      // type, 3 bytes of padding, flags (U32), length (U8, at most 64), payload.
      if (!v.has(9)) return Step::need_bytes(9);
      const uint8_t n = v.u8(8);
      if (n > 64) {
        return fail(Error(Errc::protocol,
                          "ServerFence payload of " + std::to_string(n) + " bytes (at most 64)"));
      }
      return Step::of(message(ServerUnitKind::fence, 9 + uint64_t{n}));
    }
    case kServerXvp:
      if (!xvp_) return fail(not_enabled(type, "XVP", kPseudoXvp));
      return Step::of(message(ServerUnitKind::xvp, 4));  // type, padding, version, code
    case kServerQemu: {
      if (!qemu_audio_) return fail(not_enabled(type, "QEMU audio", kPseudoQemuAudio));
      if (!v.has(4)) return Step::need_bytes(4);
      const uint8_t subtype = v.u8(1);
      const uint16_t op = v.u16(2);
      if (subtype != kQemuAudio) {
        return fail(
            Error(Errc::protocol, "QEMU server message subtype " + std::to_string(subtype)));
      }
      if (op == kQemuAudioEnd || op == kQemuAudioBegin) {
        return Step::of(message(ServerUnitKind::qemu_audio, 4));
      }
      if (op == kQemuAudioData) {
        if (!v.has(8)) return Step::need_bytes(8);
        const uint64_t n = v.u32(4);
        if (n > kMaxRectBodyLength) {
          return fail(Error(Errc::too_large, "QEMU audio data of " + std::to_string(n) + " bytes"));
        }
        return Step::of(message(ServerUnitKind::qemu_audio, 8 + n));
      }
      return fail(Error(Errc::protocol, "QEMU audio operation " + std::to_string(op)));
    }
    default:
      return fail(Error(Errc::protocol, "unknown server message type " + std::to_string(type)));
  }
}

}  // namespace pvb::rfb
