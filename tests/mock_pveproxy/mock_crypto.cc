#include "tests/mock_pveproxy/mock_crypto.h"

#include <mbedtls/base64.h>
#include <mbedtls/md.h>

#include <cstdlib>

namespace pvb::mock {

namespace {

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string hmac(mbedtls_md_type_t type, std::string_view key, std::string_view message) {
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(type);
  std::string out(mbedtls_md_get_size(info), '\0');
  // Only fails on bad input data (a null md_info), which would be a build problem: abort.
  if (mbedtls_md_hmac(info, bytes(key), key.size(), bytes(message), message.size(),
                      reinterpret_cast<unsigned char*>(out.data())) != 0) {
    std::abort();
  }
  return out;
}

}  // namespace

std::string hmac_sha256(std::string_view key, std::string_view message) {
  return hmac(MBEDTLS_MD_SHA256, key, message);
}

std::string hmac_sha1(std::string_view key, std::string_view message) {
  return hmac(MBEDTLS_MD_SHA1, key, message);
}

std::string sha1(std::string_view data) {
  const mbedtls_md_info_t* info = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
  std::string out(mbedtls_md_get_size(info), '\0');
  if (mbedtls_md(info, bytes(data), data.size(), reinterpret_cast<unsigned char*>(out.data())) !=
      0) {
    std::abort();
  }
  return out;
}

std::string base64_encode(std::string_view raw, bool pad) {
  std::string out((raw.size() + 2) / 3 * 4 + 1, '\0');
  size_t written = 0;
  if (mbedtls_base64_encode(reinterpret_cast<unsigned char*>(out.data()), out.size(), &written,
                            bytes(raw), raw.size()) != 0) {
    std::abort();  // the buffer is sized for the worst case
  }
  out.resize(written);
  if (!pad) {
    while (!out.empty() && out.back() == '=') out.pop_back();
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string websocket_accept(std::string_view key) {
  std::string text(key);
  text += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  return base64_encode(sha1(text));
}

}  // namespace pvb::mock
