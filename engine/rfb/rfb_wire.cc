#include "engine/rfb/rfb_wire.h"

namespace pvb::rfb {

std::string_view version_string(Version v) {
  switch (v) {
    case Version::v3_3:
      return "RFB 003.003\n";
    case Version::v3_7:
      return "RFB 003.007\n";
    case Version::v3_8:
      return "RFB 003.008\n";
  }
  return "RFB 003.003\n";
}

std::optional<VersionNumbers> parse_version(std::string_view text) {
  if (text.size() != kVersionLength || text.substr(0, 4) != "RFB " || text[7] != '.' ||
      text[11] != '\n') {
    return std::nullopt;
  }
  VersionNumbers v;
  for (size_t i = 4; i < 7; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    v.major = v.major * 10 + (text[i] - '0');
  }
  for (size_t i = 8; i < 11; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    v.minor = v.minor * 10 + (text[i] - '0');
  }
  return v;
}

std::string encoding_name(int32_t e) {
  const char* name = nullptr;
  switch (e) {
    case kEncodingRaw:
      name = "Raw";
      break;
    case kEncodingCopyRect:
      name = "CopyRect";
      break;
    case kEncodingRre:
      name = "RRE";
      break;
    case kEncodingCoRre:
      name = "CoRRE";
      break;
    case kEncodingHextile:
      name = "Hextile";
      break;
    case kEncodingZlib:
      name = "Zlib";
      break;
    case kEncodingTight:
      name = "Tight";
      break;
    case kEncodingZrle:
      name = "ZRLE";
      break;
    case kPseudoDesktopSize:
      name = "DesktopSize";
      break;
    case kPseudoLastRect:
      name = "LastRect";
      break;
    case kPseudoCursorPos:
      name = "CursorPos";
      break;
    case kPseudoRichCursor:
      name = "RichCursor";
      break;
    case kPseudoXCursor:
      name = "XCursor";
      break;
    case kPseudoQemuPointerTypeChange:
      name = "QEMU pointer type change";
      break;
    case kPseudoQemuExtendedKeyEvent:
      name = "QEMU extended key event";
      break;
    case kPseudoQemuAudio:
      name = "QEMU audio";
      break;
    case kPseudoTightPng:
      name = "TightPNG";
      break;
    case kPseudoLedState:
      name = "LED state";
      break;
    case kPseudoDesktopName:
      name = "DesktopName";
      break;
    case kPseudoExtendedDesktopSize:
      name = "ExtendedDesktopSize";
      break;
    case kPseudoXvp:
      name = "XVP";
      break;
    case kPseudoFence:
      name = "Fence";
      break;
    case kPseudoContinuousUpdates:
      name = "ContinuousUpdates";
      break;
    case kPseudoAlphaCursor:
      name = "AlphaCursor";
      break;
    case kPseudoVmwareDisplayModeChange:
      name = "VMware display mode change";
      break;
    case kPseudoExtendedClipboard:
      name = "extended clipboard";
      break;
    default:
      if (e >= kPseudoCompressLevel0 && e <= kPseudoCompressLevel9) {
        return "compression level " + std::to_string(e - kPseudoCompressLevel0) + " (" +
               std::to_string(e) + ")";
      }
      if (e >= kPseudoQualityLevel0 && e <= kPseudoQualityLevel9) {
        return "JPEG quality " + std::to_string(e - kPseudoQualityLevel0) + " (" +
               std::to_string(e) + ")";
      }
      name = "unknown";
      break;
  }
  return std::string(name) + " (" + std::to_string(e) + ")";
}

}  // namespace pvb::rfb
