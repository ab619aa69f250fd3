// One TLS connection on OpenSSL 3, as a memory-BIO engine (see chain_bio.h): ciphertext is fed in
// and taken out as ByteChains, never through a socket.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>

#include "transports/tls/openssl/chain_bio.h"
#include "transports/tls/openssl/openssl_context.h"
#include "transports/tls/tls_engine.h"
#include "transports/tls/tls_verification.h"

namespace pvb {

class OpensslEngine : public TlsEngine {
 public:
  OpensslEngine(std::shared_ptr<OpensslContext> ctx, std::string server_name);
  ~OpensslEngine() override;
  OpensslEngine(const OpensslEngine&) = delete;
  OpensslEngine& operator=(const OpensslEngine&) = delete;

  Error init();

  void feed(ByteChain& ciphertext) override;
  size_t buffered_input() const override { return ends_.in.size(); }
  void take_output(ByteChain& out) override;
  size_t output_size() const override { return ends_.out.size(); }

  Result<bool> handshake() override;
  bool handshake_done() const override { return done_; }
  Result<TlsReadStatus> read(ByteChain& out, size_t max) override;
  Result<size_t> write(std::span<const uint8_t> plaintext) override;
  void close_notify() override;

  bool session_resumed() const override { return done_ && resumed_; }
  std::string cipher_suite() const override;
  std::string protocol_version() const override;
  std::vector<std::vector<uint8_t>> peer_chain_der() const override;

  // SSL_CTX callbacks, registered by OpensslContext; they find the engine through the SSL.
  // The client's whole verdict on the server certificate, before the handshake completes.
  static int verify_certificate(X509_STORE_CTX* store, void* unused);
  // A session (with its ticket) to resume later: TLS 1.2 at the handshake's end, TLS 1.3 later.
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

 private:
  bool is_client() const { return ctx_->role() == TlsRole::client; }
  bool verify(X509_STORE_CTX* store);
  bool verify_pinned(X509* leaf, X509_STORE_CTX* store);
  bool verify_chain_and_name(X509* leaf, X509_STORE_CTX* store);
  // Reports the refusal with `leaf` and the chain as the server sent it.
  void report_rejection(X509* leaf, X509_STORE_CTX* store) const;
  TlsVerification& verification();
  Error handshake_error(int ssl_error, bool before_server_hello);
  Error record_error(int ssl_error, std::string_view during);
  // "TLS 1.2 and 1.3", "TLS 1.2 only", "TLS 1.3 only": what this side speaks.
  std::string versions_offered() const;

  std::shared_ptr<OpensslContext> ctx_;
  std::string server_name_;
  SSL* ssl_ = nullptr;
  ChainBioEnds ends_;  // must outlive ssl_ (its BIO points here)
  bool started_ = false;
  bool done_ = false;
  bool resumed_ = false;
  Error failure_;  // sticky: the engine is unusable after a fatal error
  std::optional<TlsVerification> verification_;  // the client's, made at the first certificate
};

}  // namespace pvb
