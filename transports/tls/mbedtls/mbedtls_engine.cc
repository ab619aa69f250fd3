#include "transports/tls/mbedtls/mbedtls_engine.h"

#include <algorithm>

#include "transports/tls/tls_alert.h"

namespace pvb {
namespace {

// Plaintext is read in pieces of at least this much room (a fresh block when the tail is smaller).
constexpr size_t kReadRoom = 4096;

constexpr const char* kNeedsTls13 =
    "the server requires TLS 1.3, which the mbedTLS backend (TLS 1.2 only) cannot speak; "
    "re-enable TLS 1.2 on the server (pveproxy) or use the OpenSSL backend (--tls-backend openssl)";

}  // namespace

MbedtlsEngine::MbedtlsEngine(std::shared_ptr<MbedtlsContext> ctx, std::string server_name)
    : ctx_(std::move(ctx)), server_name_(std::move(server_name)) {
  mbedtls_ssl_init(&ssl_);
}

MbedtlsEngine::~MbedtlsEngine() {
  mbedtls_ssl_free(&ssl_);
}

Error MbedtlsEngine::init() {
  int ret = mbedtls_ssl_setup(&ssl_, ctx_->conf());
  if (ret != 0) return Error(Errc::internal, "TLS setup failed: " + mbedtls_error_text(ret), ret);
  mbedtls_ssl_set_bio(&ssl_, this, &MbedtlsEngine::send_cb, &MbedtlsEngine::recv_cb, nullptr);
  if (!is_client()) return Error();

  // SNI only for DNS names, never for IP literals (RFC 6066). mbedTLS then also compares the name
  // with the certificate; our verify callback replaces that verdict with its own check.
  if (!server_name_.empty() && !is_ip_literal(server_name_)) {
    std::string sni = server_name_;
    if (sni.back() == '.') sni.pop_back();
    ret = mbedtls_ssl_set_hostname(&ssl_, sni.c_str());
    if (ret != 0) {
      return Error(Errc::usage,
                   "invalid TLS server name " + server_name_ + ": " + mbedtls_error_text(ret), ret);
    }
  }
  if (ctx_->client_config().verify != TlsVerify::insecure) {
    mbedtls_ssl_set_verify(&ssl_, &MbedtlsEngine::verify_cb, this);
  }
  ctx_->resume_session(server_name_, &ssl_);
  return Error();
}

// --- memory BIO ----------------------------------------------------------------------------------

int MbedtlsEngine::send_cb(void* p, const unsigned char* buf, size_t len) {
  auto* self = static_cast<MbedtlsEngine*>(p);
  self->out_.append_header(buf, len);  // counted below, as the library's copy
  count_tls_out(len);
  return static_cast<int>(len);
}

int MbedtlsEngine::recv_cb(void* p, unsigned char* buf, size_t len) {
  auto* self = static_cast<MbedtlsEngine*>(p);
  const size_t n = tls_take_ciphertext(self->in_, buf, len);
  return n == 0 ? MBEDTLS_ERR_SSL_WANT_READ : static_cast<int>(n);
}

void MbedtlsEngine::feed(ByteChain& ciphertext) {
  in_.move_from(ciphertext);
}

void MbedtlsEngine::take_output(ByteChain& out) {
  out.move_from(out_);
}

// --- verification --------------------------------------------------------------------------------

int MbedtlsEngine::verify_cb(void* p, mbedtls_x509_crt* crt, int depth, uint32_t* flags) {
  auto* self = static_cast<MbedtlsEngine*>(p);
  switch (self->ctx_->client_config().verify) {
    case TlsVerify::pinned:
      *flags = 0;  // pinning: neither the chain nor the name matter, only the leaf's hash
      return depth == 0 ? self->verify_pinned(*crt) : 0;
    case TlsVerify::system_ca:
    case TlsVerify::ca_file:
      // Called from the top of the chain down; the leaf (depth 0) comes last.
      if (depth > 0) {
        self->chain_flags_ |= *flags;
        return 0;
      }
      self->verify_chain_and_name(*crt, flags);
      return 0;
    case TlsVerify::insecure:
      *flags = 0;
      return 0;
  }
  return 0;
}

TlsVerification& MbedtlsEngine::verification() {
  if (!verification_) verification_.emplace(ctx_->client_config(), server_name_);
  return *verification_;
}

int MbedtlsEngine::verify_pinned(const mbedtls_x509_crt& leaf) {
  if (verification().check_pin({leaf.raw.p, leaf.raw.len})) return 0;
  report_rejection(leaf);
  // Not CERT_VERIFY_FAILED: under VERIFY_OPTIONAL that one would be forgiven. Any other error
  // aborts the handshake before our Finished, so not one application byte reaches this server.
  return MBEDTLS_ERR_X509_FATAL_ERROR;
}

void MbedtlsEngine::verify_chain_and_name(const mbedtls_x509_crt& leaf, uint32_t* flags) {
  // mbedTLS's own name check (CN_MISMATCH) knows nothing of IP SANs: ours replaces it.
  const uint32_t leaf_flags = *flags & ~static_cast<uint32_t>(MBEDTLS_X509_BADCERT_CN_MISMATCH);
  const uint32_t all = leaf_flags | chain_flags_;
  if (all != 0) {
    verification().refuse_chain(mbedtls_verify_flags_text(all), mbedtls_issuer(leaf),
                                mbedtls_subject(leaf));
    *flags = leaf_flags;
    report_rejection(leaf);
    return;
  }
  if (!verification().check_name(mbedtls_cert_names(leaf))) {
    *flags = MBEDTLS_X509_BADCERT_CN_MISMATCH;  // makes mbedTLS send bad_certificate
    report_rejection(leaf);
    return;
  }
  *flags = 0;
}

void MbedtlsEngine::report_rejection(const mbedtls_x509_crt& leaf) const {
  // The leaf the callback sees at depth 0 heads the list of certificates the server sent.
  std::vector<std::vector<uint8_t>> chain;
  for (const mbedtls_x509_crt* c = &leaf; c != nullptr && c->raw.p != nullptr; c = c->next) {
    chain.emplace_back(c->raw.p, c->raw.p + c->raw.len);
  }
  verification_->report(std::move(chain));
}

// --- handshake -----------------------------------------------------------------------------------

void MbedtlsEngine::note_state() {
  if (ssl_.state == MBEDTLS_SSL_SERVER_CERTIFICATE ||
      ssl_.state == MBEDTLS_SSL_SERVER_KEY_EXCHANGE) {
    saw_certificate_state_ = true;
  }
}

Result<bool> MbedtlsEngine::handshake() {
  if (failure_.failed()) return failure_;
  if (done_) return true;
  while (ssl_.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
    const int ret = mbedtls_ssl_handshake_step(&ssl_);
    note_state();
    // WANT_WRITE cannot happen (our send callback takes everything); treat it like WANT_READ.
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return false;
    if (ret != 0) {
      failure_ = handshake_error(ret);
      if (is_client()) ctx_->forget_sessions(server_name_);
      return failure_;
    }
  }
  done_ = true;
  resumed_ = !saw_certificate_state_;
  if (resumed_) {
    ++tls_handshake_stats().resumed;
  } else {
    ++tls_handshake_stats().full;
  }
  if (is_client()) ctx_->remember_session(server_name_, &ssl_);
  return true;
}

std::string MbedtlsEngine::received_alert() const {
  if (ssl_.in_msgtype != MBEDTLS_SSL_MSG_ALERT || ssl_.in_msg == nullptr) return "";
  return "received fatal alert " + tls_alert_name(ssl_.in_msg[1]);
}

Error MbedtlsEngine::handshake_error(int ret) {
  if (verification_ && verification_->error().failed()) return verification_->error();
  const std::string text = mbedtls_error_text(ret);
  if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || ret == MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE) {
    const uint32_t flags = mbedtls_ssl_get_verify_result(&ssl_);
    if (flags != 0 && flags != static_cast<uint32_t>(-1)) {
      return Error(Errc::tls_verify, "certificate rejected: " + mbedtls_verify_flags_text(flags),
                   ret);
    }
  }
  if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && ssl_.in_msg != nullptr) {
    const int alert = ssl_.in_msg[1];
    // A TLS 1.3-only server answers our TLS 1.2 ClientHello with protocol_version (or, for some
    // implementations, handshake_failure) instead of a ServerHello.
    if (is_client() && ssl_.state <= MBEDTLS_SSL_SERVER_HELLO) {
      if (alert == kTlsAlertProtocolVersion) {
        return Error(Errc::tls,
                     "TLS handshake failed: " + received_alert() +
                         " before ServerHello: " + kNeedsTls13 + " [" + text + "]",
                     ret);
      }
      if (alert == kTlsAlertHandshakeFailure) {
        return Error(Errc::tls,
                     "TLS handshake failed: " + received_alert() +
                         " before ServerHello: no protocol version or cipher suite in common, or " +
                         kNeedsTls13 + " [" + text + "]",
                     ret);
      }
    }
    return Error(Errc::tls, "TLS handshake failed: " + received_alert() + " [" + text + "]", ret);
  }
  if (ret == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION) {
    return Error(Errc::tls,
                 "TLS handshake failed: the peer offers only TLS versions older than 1.2, which we "
                 "refuse [" +
                     text + "]",
                 ret);
  }
  if (ret == MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN || ret == MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE) {
    // Seen by a server; a TLS 1.3-only client offers nothing a TLS 1.2 stack can pick.
    return Error(Errc::tls,
                 "TLS handshake failed: no cipher suite in common (we speak TLS 1.2 with ECDHE and "
                 "AES-GCM or ChaCha20-Poly1305 only; a TLS 1.3-only peer offers none of those) [" +
                     text + "]",
                 ret);
  }
  return Error(Errc::tls, "TLS handshake failed: " + text, ret);
}

// --- records -------------------------------------------------------------------------------------

Error MbedtlsEngine::record_error(int ret, std::string_view during) {
  const std::string text = mbedtls_error_text(ret);
  if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
    return Error(Errc::tls, "TLS connection failed: " + received_alert() + " [" + text + "]", ret);
  }
  if (ret == MBEDTLS_ERR_SSL_INVALID_MAC) {
    return Error(Errc::tls,
                 "TLS record authentication failed (bad_record_mac): the data was corrupted or "
                 "altered in transit [" +
                     text + "]",
                 ret);
  }
  return Error(Errc::tls, "TLS error while " + std::string(during) + ": " + text, ret);
}

Result<TlsReadStatus> MbedtlsEngine::read(ByteChain& out, size_t max) {
  if (failure_.failed()) return failure_;
  if (!done_) return Error(Errc::internal, "TLS read before the handshake finished");
  size_t got = 0;
  while (got < max) {
    std::span<uint8_t> room = out.reserve(kReadRoom);
    const int ret = mbedtls_ssl_read(&ssl_, room.data(), room.size());
    if (ret > 0) {
      out.commit(static_cast<size_t>(ret));
      count_tls_out(static_cast<size_t>(ret));
      got += static_cast<size_t>(ret);
      continue;
    }
    // 0 would mean the bio reported end of file, which ours never does.
    if (ret == 0 || ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
      return TlsReadStatus::want_read;
    }
    if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return TlsReadStatus::close_notify;
    failure_ = record_error(ret, "reading");
    return failure_;
  }
  return TlsReadStatus::more;
}

Result<size_t> MbedtlsEngine::write(std::span<const uint8_t> plaintext) {
  if (failure_.failed()) return failure_;
  if (!done_) return Error(Errc::internal, "TLS write before the handshake finished");
  const size_t n = std::min(plaintext.size(), kMaxRecordPlaintext);
  if (n == 0) return size_t{0};
  const int ret = mbedtls_ssl_write(&ssl_, plaintext.data(), n);
  if (ret >= 0) {
    count_tls_in(static_cast<size_t>(ret));
    return static_cast<size_t>(ret);
  }
  // Our send callback never blocks, so WANT_WRITE cannot leave a half-written record behind.
  if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ) return size_t{0};
  failure_ = record_error(ret, "writing");
  return failure_;
}

void MbedtlsEngine::close_notify() {
  if (done_ && failure_.ok()) mbedtls_ssl_close_notify(&ssl_);
}

// --- after the handshake -------------------------------------------------------------------------

std::string MbedtlsEngine::cipher_suite() const {
  const char* name = mbedtls_ssl_get_ciphersuite(&ssl_);
  if (!done_ || name == nullptr) return "";
  return mbedtls_suite_iana_name(mbedtls_ssl_get_ciphersuite_id(name));
}

std::string MbedtlsEngine::protocol_version() const {
  return done_ ? mbedtls_ssl_get_version(&ssl_) : "";
}

std::vector<std::vector<uint8_t>> MbedtlsEngine::peer_chain_der() const {
  std::vector<std::vector<uint8_t>> chain;
  for (const mbedtls_x509_crt* c = mbedtls_ssl_get_peer_cert(&ssl_);
       c != nullptr && c->raw.p != nullptr; c = c->next) {
    chain.emplace_back(c->raw.p, c->raw.p + c->raw.len);
  }
  return chain;
}

}  // namespace pvb
