#include "engine/rfb/client_stream.h"

#include <algorithm>
#include <string>

#include "engine/rfb/chain_view.h"
#include "engine/rfb/rfb_wire.h"

namespace pvb::rfb {
namespace {

using Step = Delimited<ClientMessage>;

Step found(uint8_t type, uint64_t length, uint8_t subtype = 0) {
  return Step::of(ClientMessage{type, subtype, length});
}

Error not_enabled(uint8_t type, const char* what, int32_t pseudo) {
  return Error(Errc::protocol, "viewer message " + std::to_string(type) + " (" + what +
                                   ") without announcing " + encoding_name(pseudo));
}

}  // namespace

bool RfbClientStream::announced(int32_t encoding) const {
  return std::find(encodings_.begin(), encodings_.end(), encoding) != encodings_.end();
}

Result<Step> RfbClientStream::fail(Error e) {
  e.context("RFB from the viewer");
  error_ = e;
  return e;
}

Result<Step> RfbClientStream::next(const ByteChain& in, size_t offset) {
  if (error_.failed()) return error_;
  ChainView v(in, offset);
  if (!v.has(1)) return Step::need_bytes(1);
  const uint8_t type = v.u8(0);
  switch (type) {
    case kSetPixelFormat: {
      // type, 3 bytes of padding, PIXEL_FORMAT.
      if (!v.has(20)) return Step::need_bytes(20);
      uint8_t pf[PixelFormat::kWireLength];
      v.copy(4, pf, sizeof pf);
      PixelFormat f = PixelFormat::read(pf);
      if (f.bits_per_pixel != 8 && f.bits_per_pixel != 16 && f.bits_per_pixel != 32) {
        // QEMU refuses these too: no pixel size to compute lengths with.
        return fail(Error(Errc::protocol, "SetPixelFormat with " +
                                              std::to_string(f.bits_per_pixel) +
                                              " bits per pixel (RFB allows 8, 16, 32)"));
      }
      format_ = f;
      return found(type, 20);
    }
    case kSetEncodings: {
      // type, padding, count (U16), then S32s.
      if (!v.has(4)) return Step::need_bytes(4);
      const uint64_t count = v.u16(2);
      const uint64_t length = 4 + 4 * count;
      if (!v.has(length)) return Step::need_bytes(length);
      encodings_.resize(count);
      for (size_t i = 0; i < count; ++i) encodings_[i] = v.s32(4 + 4 * i);
      return found(type, length);
    }
    case kFramebufferUpdateRequest:
      return found(type, 10);
    case kKeyEvent:
      return found(type, 8);
    case kPointerEvent:
      return found(type, 6);
    case kClientCutText: {
      // type, 3 bytes of padding, a length; negative: the extended clipboard, |length| bytes.
      if (!v.has(8)) return Step::need_bytes(8);
      const int64_t signed_length = v.s32(4);
      const uint64_t n = static_cast<uint64_t>(signed_length < 0 ? -signed_length : signed_length);
      if (n > kMaxCutTextLength) {
        return fail(Error(Errc::too_large, "ClientCutText of " + std::to_string(n) + " bytes"));
      }
      return found(type, 8 + n);
    }
    case kEnableContinuousUpdates:
      if (!announced(kPseudoContinuousUpdates)) {
        return fail(not_enabled(type, "EnableContinuousUpdates", kPseudoContinuousUpdates));
      }
      return found(type, 10);  // type, enable flag, x, y, w, h
    case kClientFence: {
      if (!announced(kPseudoFence)) return fail(not_enabled(type, "ClientFence", kPseudoFence));
      if (!v.has(9)) return Step::need_bytes(9);
      const uint8_t n = v.u8(8);
      if (n > 64) {
        return fail(Error(Errc::protocol,
                          "ClientFence payload of " + std::to_string(n) + " bytes (at most 64)"));
      }
      return found(type, 9 + uint64_t{n});
    }
    case kClientXvp:
      if (!announced(kPseudoXvp)) return fail(not_enabled(type, "XVP", kPseudoXvp));
      return found(type, 4);  // type, padding, version, code
    case kSetDesktopSize: {
      if (!announced(kPseudoExtendedDesktopSize)) {
        return fail(not_enabled(type, "SetDesktopSize", kPseudoExtendedDesktopSize));
      }
      // type, padding, width, height, number-of-screens, padding, then 16 bytes per screen.
      if (!v.has(8)) return Step::need_bytes(8);
      return found(type, 8 + 16 * uint64_t{v.u8(6)});
    }
    case kClientQemu: {
      if (!v.has(2)) return Step::need_bytes(2);
      const uint8_t subtype = v.u8(1);
      if (subtype == kQemuExtendedKeyEvent) {
        if (!announced(kPseudoQemuExtendedKeyEvent)) {
          return fail(not_enabled(type, "QEMU extended key event", kPseudoQemuExtendedKeyEvent));
        }
        return found(type, 12, subtype);  // type, subtype, down flag, keysym, keycode
      }
      if (subtype == kQemuAudio) {
        if (!announced(kPseudoQemuAudio)) {
          return fail(not_enabled(type, "QEMU audio", kPseudoQemuAudio));
        }
        if (!v.has(4)) return Step::need_bytes(4);
        const uint16_t op = v.u16(2);
        if (op == kQemuAudioEnable || op == kQemuAudioDisable) return found(type, 4, subtype);
        // type, subtype, operation, sample format (U8), channels (U8), frequency (U32).
        if (op == kQemuAudioSetFormat) return found(type, 10, subtype);
        return fail(Error(Errc::protocol, "QEMU audio operation " + std::to_string(op)));
      }
      return fail(Error(Errc::protocol, "QEMU client message subtype " + std::to_string(subtype)));
    }
    default:
      return fail(Error(Errc::protocol, "unknown viewer message type " + std::to_string(type)));
  }
}

}  // namespace pvb::rfb
