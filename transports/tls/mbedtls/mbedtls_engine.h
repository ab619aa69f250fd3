// One TLS connection on mbedTLS, as a memory-BIO engine: the bio callbacks copy ciphertext from the
// fed chain and into the output chain, never touching a socket.
#pragma once

#include <mbedtls/ssl.h>

#include <memory>
#include <optional>
#include <string>

#include "transports/tls/mbedtls/mbedtls_context.h"
#include "transports/tls/tls_engine.h"
#include "transports/tls/tls_verification.h"

namespace pvb {

// IANA name of a suite id ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), mbedTLS's name for others.
std::string mbedtls_suite_iana_name(int id);

class MbedtlsEngine : public TlsEngine {
 public:
  MbedtlsEngine(std::shared_ptr<MbedtlsContext> ctx, std::string server_name);
  ~MbedtlsEngine() override;
  MbedtlsEngine(const MbedtlsEngine&) = delete;
  MbedtlsEngine& operator=(const MbedtlsEngine&) = delete;

  Error init();

  void feed(ByteChain& ciphertext) override;
  size_t buffered_input() const override { return in_.size(); }
  void take_output(ByteChain& out) override;
  size_t output_size() const override { return out_.size(); }

  Result<bool> handshake() override;
  bool handshake_done() const override { return done_; }
  Result<TlsReadStatus> read(ByteChain& out, size_t max) override;
  Result<size_t> write(std::span<const uint8_t> plaintext) override;
  void close_notify() override;

  bool session_resumed() const override { return done_ && resumed_; }
  std::string cipher_suite() const override;
  std::string protocol_version() const override;
  std::vector<std::vector<uint8_t>> peer_chain_der() const override;

 private:
  static int send_cb(void* self, const unsigned char* buf, size_t len);
  static int recv_cb(void* self, unsigned char* buf, size_t len);
  static int verify_cb(void* self, mbedtls_x509_crt* crt, int depth, uint32_t* flags);
  int verify_pinned(const mbedtls_x509_crt& leaf);
  void verify_chain_and_name(const mbedtls_x509_crt& leaf, uint32_t* flags);
  // Reports the refusal with `leaf` and the chain after it (as the server sent it).
  void report_rejection(const mbedtls_x509_crt& leaf) const;
  TlsVerification& verification();

  bool is_client() const { return ctx_->role() == TlsRole::client; }
  void note_state();
  Error handshake_error(int ret);
  Error record_error(int ret, std::string_view during);
  // "received fatal alert bad_certificate (42)" when the last record was an alert, else "".
  std::string received_alert() const;

  std::shared_ptr<MbedtlsContext> ctx_;
  std::string server_name_;
  mbedtls_ssl_context ssl_;
  ByteChain in_;   // ciphertext fed, not yet consumed
  ByteChain out_;  // ciphertext produced, not yet taken
  bool done_ = false;
  bool resumed_ = false;
  // A full handshake passes the server-certificate state; an abbreviated (resumed) one jumps over.
  bool saw_certificate_state_ = false;
  Error failure_;  // sticky: the engine is unusable after a fatal error
  std::optional<TlsVerification> verification_;  // the client's, made at the first certificate
  uint32_t chain_flags_ = 0;                     // mbedTLS verification flags above the leaf
};

}  // namespace pvb
