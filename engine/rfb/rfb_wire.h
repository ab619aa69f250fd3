// RFB (RFC 6143 and the community rfbproto extensions) wire facts: protocol versions, security
// types, message types, encodings and pseudo-encodings. Numbers only; no behaviour.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pvb::rfb {

// ---- ProtocolVersion ---------------------------------------------------------------------------
enum class Version : uint8_t { v3_3 = 3, v3_7 = 7, v3_8 = 8 };

// "RFB 003.008\n" and friends: always 12 bytes.
inline constexpr size_t kVersionLength = 12;
std::string_view version_string(Version v);

// A parsed "RFB xxx.yyy\n": the numbers as sent. nullopt when the 12 bytes are not of that form.
struct VersionNumbers {
  int major = 0;
  int minor = 0;
};
std::optional<VersionNumbers> parse_version(std::string_view twelve_bytes);

// ---- Security ----------------------------------------------------------------------------------
inline constexpr uint8_t kSecurityInvalid = 0;
inline constexpr uint8_t kSecurityNone = 1;
inline constexpr uint8_t kSecurityVncAuth = 2;

inline constexpr size_t kChallengeLength = 16;
inline constexpr uint32_t kSecurityResultOk = 0;
inline constexpr uint32_t kSecurityResultFailed = 1;

// ---- Client to server message types -------------------------------------------------------------
inline constexpr uint8_t kSetPixelFormat = 0;
inline constexpr uint8_t kSetEncodings = 2;
inline constexpr uint8_t kFramebufferUpdateRequest = 3;
inline constexpr uint8_t kKeyEvent = 4;
inline constexpr uint8_t kPointerEvent = 5;
inline constexpr uint8_t kClientCutText = 6;
inline constexpr uint8_t kEnableContinuousUpdates = 150;
inline constexpr uint8_t kClientFence = 248;
inline constexpr uint8_t kClientXvp = 250;
inline constexpr uint8_t kSetDesktopSize = 251;
inline constexpr uint8_t kClientQemu = 255;

// Subtypes of the QEMU client message (255) and operations of its audio subtype.
inline constexpr uint8_t kQemuExtendedKeyEvent = 0;
inline constexpr uint8_t kQemuAudio = 1;
inline constexpr uint16_t kQemuAudioEnable = 0;
inline constexpr uint16_t kQemuAudioDisable = 1;
inline constexpr uint16_t kQemuAudioSetFormat = 2;

// ---- Server to client message types -------------------------------------------------------------
inline constexpr uint8_t kFramebufferUpdate = 0;
inline constexpr uint8_t kSetColourMapEntries = 1;
inline constexpr uint8_t kBell = 2;
inline constexpr uint8_t kServerCutText = 3;
inline constexpr uint8_t kEndOfContinuousUpdates = 150;
inline constexpr uint8_t kServerFence = 248;
inline constexpr uint8_t kServerXvp = 250;
inline constexpr uint8_t kServerQemu = 255;

// Operations of the QEMU server audio message (255, subtype 1).
inline constexpr uint16_t kQemuAudioEnd = 0;
inline constexpr uint16_t kQemuAudioBegin = 1;
inline constexpr uint16_t kQemuAudioData = 2;

// ---- Encodings ---------------------------------------------------------------------------------
inline constexpr int32_t kEncodingRaw = 0;
inline constexpr int32_t kEncodingCopyRect = 1;
inline constexpr int32_t kEncodingRre = 2;
inline constexpr int32_t kEncodingCoRre = 4;
inline constexpr int32_t kEncodingHextile = 5;
inline constexpr int32_t kEncodingZlib = 6;
inline constexpr int32_t kEncodingTight = 7;
inline constexpr int32_t kEncodingZrle = 16;

// ---- Pseudo-encodings --------------------------------------------------------------------------
inline constexpr int32_t kPseudoDesktopSize = -223;
inline constexpr int32_t kPseudoLastRect = -224;
inline constexpr int32_t kPseudoCursorPos = -232;
inline constexpr int32_t kPseudoRichCursor = -239;
inline constexpr int32_t kPseudoXCursor = -240;
inline constexpr int32_t kPseudoQemuPointerTypeChange = -257;
inline constexpr int32_t kPseudoQemuExtendedKeyEvent = -258;
inline constexpr int32_t kPseudoQemuAudio = -259;
inline constexpr int32_t kPseudoTightPng = -260;
inline constexpr int32_t kPseudoLedState = -261;
inline constexpr int32_t kPseudoDesktopName = -307;
inline constexpr int32_t kPseudoExtendedDesktopSize = -308;
inline constexpr int32_t kPseudoXvp = -309;
inline constexpr int32_t kPseudoFence = -312;
inline constexpr int32_t kPseudoContinuousUpdates = -313;
inline constexpr int32_t kPseudoAlphaCursor = -314;
// VMware's display mode change ("WMVi"): a rectangle carrying a new PIXEL_FORMAT.
inline constexpr int32_t kPseudoVmwareDisplayModeChange = 0x574D5669;
// The extended clipboard (cut text with a negative length); no rectangle carries it.
inline constexpr int32_t kPseudoExtendedClipboard = static_cast<int32_t>(0xC0A1E5CE);
// Ranges that only tune the server's encoder (no rectangle ever carries them).
inline constexpr int32_t kPseudoCompressLevel0 = -256;  // .. -247 (level 0..9)
inline constexpr int32_t kPseudoCompressLevel9 = -247;
inline constexpr int32_t kPseudoQualityLevel0 = -32;  // .. -23 (quality 0..9)
inline constexpr int32_t kPseudoQualityLevel9 = -23;

// "Tight (7)", "LastRect (-224)", "unknown (12345)": for error messages.
std::string encoding_name(int32_t encoding);

// ---- Limits the delimiters enforce (a peer sending more is broken or hostile) -------------------
inline constexpr uint64_t kMaxCutTextLength = 16u << 20;     // one clipboard message
inline constexpr uint64_t kMaxRectBodyLength = 256u << 20;   // one rectangle's body
inline constexpr uint64_t kMaxReasonLength = 64u << 10;      // a handshake failure reason
inline constexpr uint64_t kMaxDesktopNameLength = 1u << 20;  // ServerInit / DesktopName

}  // namespace pvb::rfb
