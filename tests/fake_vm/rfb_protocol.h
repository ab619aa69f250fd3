// RFB (RFC 6143) wire facts shared by the fake VM's server and the test client: protocol
// versions, security types, message types, the pixel format, big-endian helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/byte_chain.h"

namespace pvb {

enum class RfbVersion { v3_3 = 3, v3_7 = 7, v3_8 = 8 };

// "RFB 003.008\n" and friends: always 12 bytes.
inline constexpr size_t kRfbVersionLength = 12;
std::string_view rfb_version_string(RfbVersion version);
// Parses a 12-byte ProtocolVersion. nullopt when it is not "RFB xxx.yyy\n". Versions other than
// 3.7 and 3.8 (3.5, 3.889, 4.x...) mean 3.3 as RFC 6143 7.1.1 says; anything newer than 3.8 in
// the 3.x series is treated as 3.8 so newer peers can still talk to us.
std::optional<RfbVersion> parse_rfb_version(std::string_view text);

namespace rfb {
inline constexpr uint8_t kSecurityInvalid = 0;
inline constexpr uint8_t kSecurityNone = 1;
inline constexpr uint8_t kSecurityVncAuth = 2;

inline constexpr size_t kChallengeLength = 16;

// Client to server.
inline constexpr uint8_t kSetPixelFormat = 0;
inline constexpr uint8_t kSetEncodings = 2;
inline constexpr uint8_t kFramebufferUpdateRequest = 3;
inline constexpr uint8_t kKeyEvent = 4;
inline constexpr uint8_t kPointerEvent = 5;
inline constexpr uint8_t kClientCutText = 6;

// Server to client.
inline constexpr uint8_t kFramebufferUpdate = 0;
inline constexpr uint8_t kSetColourMapEntries = 1;
inline constexpr uint8_t kBell = 2;
inline constexpr uint8_t kServerCutText = 3;

inline constexpr int32_t kEncodingRaw = 0;
}  // namespace rfb

// The 16-byte PIXEL_FORMAT of ServerInit and SetPixelFormat.
struct PixelFormat {
  uint8_t bits_per_pixel = 32;
  uint8_t depth = 24;
  bool big_endian = false;
  bool true_colour = true;
  uint16_t red_max = 255, green_max = 255, blue_max = 255;
  uint8_t red_shift = 16, green_shift = 8, blue_shift = 0;

  static constexpr size_t kWireLength = 16;
  // 32 bpp, little-endian, 0x00RRGGBB: what QEMU announces and what our client asks for.
  static PixelFormat rgb888() { return {}; }
  // 16 bpp true colour, 5-6-5.
  static PixelFormat rgb565();

  size_t bytes_per_pixel() const { return bits_per_pixel / 8; }
  void write(uint8_t out[kWireLength]) const;
  static PixelFormat read(const uint8_t in[kWireLength]);
  // Why we cannot produce pixels in this format (colour maps, odd sizes), or nullopt if we can.
  std::optional<std::string> unsupported_reason() const;
  // Writes one 0xRRGGBB colour as bytes_per_pixel() bytes; the format must be supported.
  void encode(uint32_t rgb, uint8_t* out) const;
  // The inverse, scaled back to 8 bits per channel (exact for rgb888).
  uint32_t decode(const uint8_t* in) const;

  bool operator==(const PixelFormat&) const = default;
};

// Big-endian (network order) fields.
inline void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline uint16_t get_u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t get_u32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

// Copies the first n bytes of chain (n <= size) into dst. Protocol fields, not payload, so the
// copy is not counted in copy_stats() (same convention as ByteChain::append_header).
void peek_bytes(const ByteChain& chain, uint8_t* dst, size_t n);
// Moves the first n bytes of chain (n <= size) into dst and drains them; not counted either: the
// test client's decoding is not part of any data path the benchmarks measure.
void take_bytes(ByteChain& chain, uint8_t* dst, size_t n);

}  // namespace pvb
