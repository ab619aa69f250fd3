#include "engine/rfb/encodings.h"

#include <cassert>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/tight.h"

namespace pvb::rfb {

bool delimiter_supports(int32_t e) {
  switch (e) {
    case kEncodingRaw:
    case kEncodingCopyRect:
    case kEncodingRre:
    case kEncodingCoRre:
    case kEncodingHextile:
    case kEncodingZlib:
    case kEncodingTight:
    case kEncodingZrle:
    case kPseudoDesktopSize:
    case kPseudoLastRect:
    case kPseudoCursorPos:
    case kPseudoRichCursor:
    case kPseudoXCursor:
    case kPseudoQemuPointerTypeChange:
    case kPseudoQemuExtendedKeyEvent:
    case kPseudoQemuAudio:
    case kPseudoLedState:
    case kPseudoDesktopName:
    case kPseudoExtendedDesktopSize:
    case kPseudoXvp:
    case kPseudoFence:
    case kPseudoContinuousUpdates:
    case kPseudoAlphaCursor:
    case kPseudoVmwareDisplayModeChange:
    case kPseudoExtendedClipboard:
      return true;
    default:
      // Encoder tuning only: the server never sends a rectangle with these.
      return (e >= kPseudoCompressLevel0 && e <= kPseudoCompressLevel9) ||
             (e >= kPseudoQualityLevel0 && e <= kPseudoQualityLevel9);
  }
}

std::vector<int32_t> filter_encodings(std::span<const int32_t> requested,
                                      const PixelFormat* format) {
  const bool tight_ok = format == nullptr || tight_pixel_size(*format).has_value();
  std::vector<int32_t> kept;
  kept.reserve(requested.size());
  for (int32_t e : requested) {
    if (!delimiter_supports(e)) continue;
    if (e == kEncodingTight && !tight_ok) continue;
    kept.push_back(e);
  }
  return kept;
}

void write_set_encodings(std::span<const int32_t> encodings, ByteChain& out) {
  assert(encodings.size() <= 0xFFFF);
  std::vector<uint8_t> msg(4 + 4 * encodings.size());
  msg[0] = kSetEncodings;
  msg[1] = 0;
  put_u16(msg.data() + 2, static_cast<uint16_t>(encodings.size()));
  for (size_t i = 0; i < encodings.size(); ++i) put_s32(msg.data() + 4 + 4 * i, encodings[i]);
  out.append_header(msg.data(), msg.size());
}

}  // namespace pvb::rfb
