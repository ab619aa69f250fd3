// Test-side RFC 6455 wire helpers, written independently of the codec under test: a frame
// builder for hand-made (and hostile) frames, and a parser to check what the codec produced.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pvb::wstest {

struct WireFrame {
  bool fin = true;
  uint8_t rsv = 0;
  uint8_t opcode = 2;
  bool masked = false;
  uint8_t mask[4] = {0, 0, 0, 0};
  std::string payload;   // unmasked
  size_t wire_size = 0;  // header + payload bytes
};

// Builds one frame. length_override replaces the encoded length (for hostile frames);
// force_long_length uses the 8-byte length form even for small payloads.
inline std::string make_frame(uint8_t opcode, const std::string& payload, bool fin = true,
                              std::optional<std::array<uint8_t, 4>> mask = std::nullopt,
                              uint8_t rsv = 0,
                              std::optional<uint64_t> length_override = std::nullopt,
                              bool force_long_length = false) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0xf)));
  const uint64_t len = length_override.value_or(payload.size());
  const uint8_t mask_bit = mask ? 0x80 : 0;
  if (len < 126 && !force_long_length) {
    out.push_back(static_cast<char>(mask_bit | len));
  } else if (len <= 0xffff && !force_long_length) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(len >> 8));
    out.push_back(static_cast<char>(len & 0xff));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  }
  if (mask) {
    for (uint8_t b : *mask) out.push_back(static_cast<char>(b));
  }
  for (size_t i = 0; i < payload.size(); ++i) {
    uint8_t b = static_cast<uint8_t>(payload[i]);
    if (mask) b ^= (*mask)[i % 4];
    out.push_back(static_cast<char>(b));
  }
  return out;
}

// Parses a complete sequence of frames; nullopt if the bytes do not end on a frame boundary.
inline std::optional<std::vector<WireFrame>> parse_frames(const std::string& wire) {
  std::vector<WireFrame> frames;
  size_t pos = 0;
  auto byte = [&](size_t i) { return static_cast<uint8_t>(wire[i]); };
  while (pos < wire.size()) {
    if (wire.size() - pos < 2) return std::nullopt;
    WireFrame f;
    const size_t start = pos;
    f.fin = (byte(pos) & 0x80) != 0;
    f.rsv = (byte(pos) >> 4) & 7;
    f.opcode = byte(pos) & 0xf;
    f.masked = (byte(pos + 1) & 0x80) != 0;
    uint64_t len = byte(pos + 1) & 0x7f;
    pos += 2;
    size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
    if (wire.size() - pos < ext) return std::nullopt;
    if (ext) {
      len = 0;
      for (size_t i = 0; i < ext; ++i) len = (len << 8) | byte(pos + i);
      pos += ext;
    }
    if (f.masked) {
      if (wire.size() - pos < 4) return std::nullopt;
      for (int i = 0; i < 4; ++i) f.mask[i] = byte(pos + i);
      pos += 4;
    }
    if (wire.size() - pos < len) return std::nullopt;
    f.payload = wire.substr(pos, len);
    if (f.masked) {
      for (size_t i = 0; i < f.payload.size(); ++i) {
        f.payload[i] = static_cast<char>(static_cast<uint8_t>(f.payload[i]) ^ f.mask[i % 4]);
      }
    }
    pos += len;
    f.wire_size = pos - start;
    frames.push_back(std::move(f));
  }
  return frames;
}

// Deterministic test bytes (not all equal, so misordering shows).
inline std::string pattern(size_t n, uint32_t seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 12345;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

}  // namespace pvb::wstest
