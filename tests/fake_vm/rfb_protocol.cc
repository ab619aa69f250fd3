#include "tests/fake_vm/rfb_protocol.h"

#include <cassert>
#include <cstring>

namespace pvb {

std::string_view rfb_version_string(RfbVersion version) {
  switch (version) {
    case RfbVersion::v3_3:
      return "RFB 003.003\n";
    case RfbVersion::v3_7:
      return "RFB 003.007\n";
    case RfbVersion::v3_8:
      return "RFB 003.008\n";
  }
  return "RFB 003.003\n";
}

std::optional<RfbVersion> parse_rfb_version(std::string_view text) {
  if (text.size() != kRfbVersionLength || text.substr(0, 4) != "RFB " || text[7] != '.' ||
      text[11] != '\n') {
    return std::nullopt;
  }
  int major = 0, minor = 0;
  for (size_t i = 4; i < 7; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    major = major * 10 + (text[i] - '0');
  }
  for (size_t i = 8; i < 11; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    minor = minor * 10 + (text[i] - '0');
  }
  if (major != 3) return major > 3 ? RfbVersion::v3_8 : RfbVersion::v3_3;
  if (minor == 7) return RfbVersion::v3_7;
  // 3.889 is Apple's 3.8 variant; plain 3.8 and anything newer in 3.x speaks the 3.8 handshake.
  if (minor >= 8) return RfbVersion::v3_8;
  return RfbVersion::v3_3;
}

void peek_bytes(const ByteChain& chain, uint8_t* dst, size_t n) {
  assert(n <= chain.size());
  for (const Slice& s : chain.slices()) {
    if (n == 0) break;
    size_t k = s.size() < n ? s.size() : n;
    std::memcpy(dst, s.data(), k);
    dst += k;
    n -= k;
  }
}

void take_bytes(ByteChain& chain, uint8_t* dst, size_t n) {
  peek_bytes(chain, dst, n);
  chain.drain(n);
}

}  // namespace pvb
