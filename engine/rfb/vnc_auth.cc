#include "engine/rfb/vnc_auth.h"

#include <mbedtls/des.h>

#include <cstring>

namespace pvb {
namespace {

uint8_t reverse_bits(uint8_t b) {
  b = static_cast<uint8_t>((b & 0xF0) >> 4 | (b & 0x0F) << 4);
  b = static_cast<uint8_t>((b & 0xCC) >> 2 | (b & 0x33) << 2);
  b = static_cast<uint8_t>((b & 0xAA) >> 1 | (b & 0x55) << 1);
  return b;
}

// DES-ECB encrypts `blocks` 8-byte blocks in place with a VNC-style key (bits reversed per byte).
void vnc_des_encrypt(const uint8_t (&vnc_key)[8], uint8_t* data, size_t blocks) {
  unsigned char key[MBEDTLS_DES_KEY_SIZE];
  for (size_t i = 0; i < sizeof key; ++i) key[i] = reverse_bits(vnc_key[i]);
  mbedtls_des_context ctx;
  mbedtls_des_init(&ctx);
  // Cannot fail for an 8-byte key: weak keys and parity are not checked by setkey.
  mbedtls_des_setkey_enc(&ctx, key);
  for (size_t i = 0; i < blocks; ++i) {
    unsigned char block[8];
    std::memcpy(block, data + 8 * i, 8);
    mbedtls_des_crypt_ecb(&ctx, block, data + 8 * i);
  }
  mbedtls_des_free(&ctx);
  // The key is derived from a password: do not leave it on the stack.
  volatile unsigned char* wipe = key;
  for (size_t i = 0; i < sizeof key; ++i) wipe[i] = 0;
}

void password_key(std::string_view password, uint8_t (&key)[8]) {
  std::memset(key, 0, sizeof key);
  std::memcpy(key, password.data(), password.size() < 8 ? password.size() : 8);
}

}  // namespace

std::array<uint8_t, 16> vnc_auth_response(std::string_view password,
                                          std::span<const uint8_t, 16> challenge) {
  uint8_t key[8];
  password_key(password, key);
  std::array<uint8_t, 16> out;
  std::memcpy(out.data(), challenge.data(), out.size());
  vnc_des_encrypt(key, out.data(), 2);
  volatile uint8_t* wipe = key;
  for (size_t i = 0; i < sizeof key; ++i) wipe[i] = 0;
  return out;
}

std::array<uint8_t, 8> vnc_password_file_bytes(std::string_view password) {
  static constexpr uint8_t kFixedKey[8] = {23, 82, 107, 6, 35, 78, 88, 7};
  uint8_t block[8];
  password_key(password, block);
  vnc_des_encrypt(kFixedKey, block, 1);
  std::array<uint8_t, 8> out;
  std::memcpy(out.data(), block, out.size());
  return out;
}

}  // namespace pvb
