#include "tests/mock_pveproxy/totp.h"

#include "tests/mock_pveproxy/mock_crypto.h"

namespace pvb::mock {

std::optional<std::string> base32_decode(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=' || c == ' ') continue;
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a';
    } else if (c >= '2' && c <= '7') {
      v = c - '2' + 26;
    } else {
      return std::nullopt;
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // Fewer than 8 bits remain; in a well-formed encoding they are zero padding.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

uint32_t hotp(std::string_view key, uint64_t counter, int digits) {
  char message[8];
  for (int i = 7; i >= 0; --i) {
    message[i] = static_cast<char>(counter & 0xff);
    counter >>= 8;
  }
  std::string mac = hmac_sha1(key, std::string_view(message, sizeof message));
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(mac[i])); };
  size_t offset = byte(mac.size() - 1) & 0x0f;
  uint32_t binary = ((byte(offset) & 0x7f) << 24) | (byte(offset + 1) << 16) |
                    (byte(offset + 2) << 8) | byte(offset + 3);
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  return binary % modulus;
}

namespace {

std::string zero_padded(uint32_t value, int digits) {
  std::string s = std::to_string(value);
  if (static_cast<int>(s.size()) < digits) s.insert(0, static_cast<size_t>(digits) - s.size(), '0');
  return s;
}

}  // namespace

std::string totp_code(std::string_view key, int64_t now, const TotpParams& params) {
  auto counter = static_cast<uint64_t>(now / params.step_s);
  return zero_padded(hotp(key, counter, params.digits), params.digits);
}

bool totp_verify(std::string_view key, std::string_view code, int64_t now,
                 const TotpParams& params) {
  if (static_cast<int>(code.size()) != params.digits) return false;
  for (char c : code) {
    if (c < '0' || c > '9') return false;
  }
  int64_t current = now / params.step_s;
  bool match = false;
  for (int64_t step = current - params.window_steps; step <= current + params.window_steps;
       ++step) {
    if (step < 0) continue;
    // Check every step (no early return) so timing does not reveal which one matched.
    std::string expected =
        zero_padded(hotp(key, static_cast<uint64_t>(step), params.digits), params.digits);
    match |= constant_time_equal(expected, code);
  }
  return match;
}

}  // namespace pvb::mock
