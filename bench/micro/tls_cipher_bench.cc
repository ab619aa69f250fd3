// mbedTLS AEAD record protection at TLS's 16 KiB record size: the bridge's ceiling (every byte is
// decrypted once and encrypted once on its way through pveproxy's TLS).
#include <mbedtls/cipher.h>

#include <vector>

#include "bench/micro/bench_util.h"

namespace pvb::bench {
namespace {

constexpr size_t kRecord = 16 * 1024;
constexpr size_t kTag = 16;

// One cipher context keyed for one direction.
class Aead {
 public:
  Aead(mbedtls_cipher_type_t type, mbedtls_operation_t op) {
    mbedtls_cipher_init(&ctx_);
    const mbedtls_cipher_info_t* info = mbedtls_cipher_info_from_type(type);
    if (info == nullptr || mbedtls_cipher_setup(&ctx_, info) != 0) return;
    const std::string key = pattern(32, 77);
    ok_ = mbedtls_cipher_setkey(&ctx_, reinterpret_cast<const unsigned char*>(key.data()),
                                mbedtls_cipher_get_key_bitlen(&ctx_), op) == 0;
  }
  ~Aead() { mbedtls_cipher_free(&ctx_); }
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  bool ok() const { return ok_; }
  // TLS 1.2 AEAD: a 12-byte nonce and 13 bytes of additional data per record.
  bool seal(const uint8_t* in, size_t n, uint8_t* out, size_t cap, size_t* out_len) {
    return mbedtls_cipher_auth_encrypt_ext(&ctx_, kNonce, sizeof kNonce, kAad, sizeof kAad, in, n,
                                           out, cap, out_len, kTag) == 0;
  }
  bool open(const uint8_t* in, size_t n, uint8_t* out, size_t cap, size_t* out_len) {
    return mbedtls_cipher_auth_decrypt_ext(&ctx_, kNonce, sizeof kNonce, kAad, sizeof kAad, in, n,
                                           out, cap, out_len, kTag) == 0;
  }

 private:
  static constexpr uint8_t kNonce[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  static constexpr uint8_t kAad[13] = {0, 0, 0, 0, 0, 0, 0, 1, 23, 3, 3, 0x40, 0};
  mbedtls_cipher_context_t ctx_;
  bool ok_ = false;
};

void BM_TlsRecord(benchmark::State& state, mbedtls_cipher_type_t type, bool decrypt) {
  Aead sealer(type, MBEDTLS_ENCRYPT), opener(type, MBEDTLS_DECRYPT);
  if (!sealer.ok() || !opener.ok()) {
    state.SkipWithError("cipher not available in this mbedTLS build");
    return;
  }
  const std::string plain = pattern(kRecord);
  const auto* p = reinterpret_cast<const uint8_t*>(plain.data());
  std::vector<uint8_t> record(kRecord + kTag), out(kRecord + kTag);
  size_t len = 0;
  if (!sealer.seal(p, kRecord, record.data(), record.size(), &len) || len != record.size()) {
    state.SkipWithError("encryption failed");
    return;
  }
  for (auto _ : state) {
    const bool ok = decrypt
                        ? opener.open(record.data(), record.size(), out.data(), out.size(), &len)
                        : sealer.seal(p, kRecord, out.data(), out.size(), &len);
    if (!ok) {
      state.SkipWithError(decrypt ? "decryption failed" : "encryption failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRecord));
}

BENCHMARK_CAPTURE(BM_TlsRecord, aes128gcm_encrypt, MBEDTLS_CIPHER_AES_128_GCM, false);
BENCHMARK_CAPTURE(BM_TlsRecord, aes128gcm_decrypt, MBEDTLS_CIPHER_AES_128_GCM, true);
BENCHMARK_CAPTURE(BM_TlsRecord, aes256gcm_encrypt, MBEDTLS_CIPHER_AES_256_GCM, false);
BENCHMARK_CAPTURE(BM_TlsRecord, aes256gcm_decrypt, MBEDTLS_CIPHER_AES_256_GCM, true);
BENCHMARK_CAPTURE(BM_TlsRecord, chacha20poly1305_encrypt, MBEDTLS_CIPHER_CHACHA20_POLY1305, false);
BENCHMARK_CAPTURE(BM_TlsRecord, chacha20poly1305_decrypt, MBEDTLS_CIPHER_CHACHA20_POLY1305, true);

}  // namespace
}  // namespace pvb::bench
