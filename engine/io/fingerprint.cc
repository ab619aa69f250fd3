#include "engine/io/fingerprint.h"

#include <mbedtls/sha256.h>

namespace pvb {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

Error bad_fingerprint(std::string_view why) {
  return Error(Errc::usage, "invalid SHA-256 fingerprint: " + std::string(why) +
                                " (expected 32 bytes as AA:BB:... or 64 hex digits)");
}

}  // namespace

Result<Sha256Fingerprint> parse_fingerprint(std::string_view text) {
  text = trim(text);
  const bool colons = text.find(':') != std::string_view::npos;
  // With colons: 32 pairs and 31 separators; plain: 64 digits.
  const size_t expected = colons ? 32 * 3 - 1 : 64;
  if (text.size() != expected) {
    return bad_fingerprint("got " + std::to_string(text.size()) + " characters");
  }
  Sha256Fingerprint fp{};
  const size_t stride = colons ? 3 : 2;
  for (size_t i = 0; i < fp.size(); ++i) {
    const size_t at = i * stride;
    const int hi = hex_value(text[at]);
    const int lo = hex_value(text[at + 1]);
    if (hi < 0 || lo < 0)
      return bad_fingerprint("not a hex digit near position " + std::to_string(at + 1));
    if (colons && i + 1 < fp.size() && text[at + 2] != ':') {
      return bad_fingerprint("expected ':' at position " + std::to_string(at + 3));
    }
    fp[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return fp;
}

std::string format_fingerprint(const Sha256Fingerprint& fp) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(fp.size() * 3);
  for (size_t i = 0; i < fp.size(); ++i) {
    if (i > 0) out += ':';
    out += kHex[fp[i] >> 4];
    out += kHex[fp[i] & 15];
  }
  return out;
}

Sha256Fingerprint sha256_fingerprint(std::span<const uint8_t> der) {
  Sha256Fingerprint fp{};
  mbedtls_sha256_ret(der.data(), der.size(), fp.data(), 0);
  return fp;
}

}  // namespace pvb
