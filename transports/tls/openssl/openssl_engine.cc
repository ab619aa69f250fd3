#include "transports/tls/openssl/openssl_engine.h"

#include <algorithm>

#include "transports/tls/tls_alert.h"

namespace pvb {
namespace {

// Plaintext is read in pieces of at least this much room (a fresh block when the tail is smaller).
constexpr size_t kReadRoom = 4096;

// libssl reports a fatal alert from the peer as reason SSL_AD_REASON_OFFSET + its description.
int received_alert(const OpensslError& e) {
  if (!e.from_ssl()) return -1;
  const int alert = e.reason() - SSL_AD_REASON_OFFSET;
  return alert >= 0 && alert < 256 ? alert : -1;
}

std::string version_name(int version) {
  return version == TLS1_3_VERSION ? "1.3" : "1.2";
}

}  // namespace

OpensslEngine::OpensslEngine(std::shared_ptr<OpensslContext> ctx, std::string server_name)
    : ctx_(std::move(ctx)), server_name_(std::move(server_name)) {}

OpensslEngine::~OpensslEngine() {
  if (ssl_ != nullptr && done_ && failure_.ok()) {
    // A healthy connection that ends without our close_notify (an abort, or a peer that just
    // closes) keeps its session resumable, as TLS 1.1+ allows (RFC 5246 7.2.1) and the mbedTLS
    // backend does: SSL_free would otherwise mark the shared cached session not resumable.
    SSL_set_shutdown(ssl_, SSL_get_shutdown(ssl_) | SSL_SENT_SHUTDOWN);
  }
  SSL_free(ssl_);  // and its BIO, which points into ends_
}

Error OpensslEngine::init() {
  ERR_clear_error();
  ssl_ = SSL_new(ctx_->ssl_ctx());
  if (ssl_ == nullptr) {
    OpensslError e = take_openssl_error();
    return Error(Errc::internal, "TLS setup failed: " + e.text, static_cast<int>(e.code));
  }
  BIO* bio = new_chain_bio(&ends_);
  if (bio == nullptr) {
    OpensslError e = take_openssl_error();
    return Error(Errc::internal, "TLS setup failed: no memory BIO: " + e.text,
                 static_cast<int>(e.code));
  }
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: the SSL takes over our one reference
  SSL_set_app_data(ssl_, this);
  if (!is_client()) {
    SSL_set_accept_state(ssl_);
    return Error();
  }
  SSL_set_connect_state(ssl_);
  // SNI only for DNS names, never for IP literals (RFC 6066).
  if (!server_name_.empty() && !is_ip_literal(server_name_)) {
    std::string sni = server_name_;
    if (sni.back() == '.') sni.pop_back();
    if (sni.empty() || SSL_set_tlsext_host_name(ssl_, sni.c_str()) != 1) {
      OpensslError e = take_openssl_error();
      return Error(Errc::usage, "invalid TLS server name " + server_name_ + ": " + e.text,
                   static_cast<int>(e.code));
    }
  }
  return Error();
}

// --- memory BIO ----------------------------------------------------------------------------------

void OpensslEngine::feed(ByteChain& ciphertext) {
  ends_.in.move_from(ciphertext);
}

void OpensslEngine::take_output(ByteChain& out) {
  out.move_from(ends_.out);
}

// --- verification --------------------------------------------------------------------------------

int OpensslEngine::verify_certificate(X509_STORE_CTX* store, void*) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self = ssl ? static_cast<OpensslEngine*>(SSL_get_app_data(ssl)) : nullptr;
  if (self == nullptr) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  return self->verify(store) ? 1 : 0;
}

// Returning false fails the handshake (under SSL_VERIFY_PEER) before our Finished, so not one
// application byte reaches a server we refuse; the store's error picks the alert it hears.
TlsVerification& OpensslEngine::verification() {
  if (!verification_) verification_.emplace(ctx_->client_config(), server_name_);
  return *verification_;
}

bool OpensslEngine::verify(X509_STORE_CTX* store) {
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  const TlsVerify mode = verification().mode();
  if (mode == TlsVerify::insecure) return true;
  if (leaf == nullptr) {
    verification().refuse(Error(Errc::tls_verify, "the server sent no certificate"));
    X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
    return false;
  }
  if (mode == TlsVerify::pinned) return verify_pinned(leaf, store);
  return verify_chain_and_name(leaf, store);
}

bool OpensslEngine::verify_pinned(X509* leaf, X509_STORE_CTX* store) {
  if (verification().check_pin(openssl_der(leaf))) return true;
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);  // the server hears bad_certificate
  report_rejection(leaf, store);
  return false;
}

bool OpensslEngine::verify_chain_and_name(X509* leaf, X509_STORE_CTX* store) {
  // The chain with OpenSSL's verifier (the store's CAs, time, purpose); the name with ours.
  if (X509_verify_cert(store) != 1) {
    int err = X509_STORE_CTX_get_error(store);
    if (err == X509_V_OK) {
      err = X509_V_ERR_UNSPECIFIED;
      X509_STORE_CTX_set_error(store, err);
    }
    verification().refuse_chain(X509_verify_cert_error_string(err), openssl_issuer(leaf),
                                openssl_subject(leaf), err);
    report_rejection(leaf, store);
    return false;
  }
  if (!verification().check_name(openssl_cert_names(leaf))) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);  // bad_certificate
    report_rejection(leaf, store);
    return false;
  }
  return true;
}

void OpensslEngine::report_rejection(X509* leaf, X509_STORE_CTX* store) const {
  std::vector<std::vector<uint8_t>> chain;
  chain.push_back(openssl_der(leaf));
  // The untrusted stack is the chain the server sent (the client's view starts with the leaf).
  STACK_OF(X509)* sent = X509_STORE_CTX_get0_untrusted(store);
  for (int i = 0; sent != nullptr && i < sk_X509_num(sent); ++i) {
    X509* crt = sk_X509_value(sent, i);
    if (X509_cmp(crt, leaf) == 0) continue;
    chain.push_back(openssl_der(crt));
  }
  verification_->report(std::move(chain));
}

int OpensslEngine::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<OpensslEngine*>(SSL_get_app_data(ssl));
  if (self == nullptr) return 0;  // not ours: OpenSSL keeps its reference
  self->ctx_->remember_session(self->server_name_, session);
  return 1;  // we took the reference
}

// --- handshake -----------------------------------------------------------------------------------

Result<bool> OpensslEngine::handshake() {
  if (failure_.failed()) return failure_;
  if (done_) return true;
  if (!started_) {
    started_ = true;
    // Looked up now rather than in init(): a TLS 1.3 ticket from the previous connection to this
    // server may have arrived after that engine's handshake, and after this engine was made.
    if (is_client()) ctx_->resume_session(server_name_, ssl_);
  }
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    done_ = true;
    resumed_ = SSL_session_reused(ssl_) == 1;
    if (resumed_) {
      ++tls_handshake_stats().resumed;
    } else {
      ++tls_handshake_stats().full;
    }
    return true;
  }
  const int err = SSL_get_error(ssl_, ret);
  // WANT_WRITE cannot happen (our BIO takes everything); treat it like WANT_READ.
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
  const bool before_server_hello = is_client() && SSL_get_state(ssl_) == TLS_ST_CW_CLNT_HELLO;
  failure_ = handshake_error(err, before_server_hello);
  if (is_client()) ctx_->forget_sessions(server_name_);
  return failure_;
}

std::string OpensslEngine::versions_offered() const {
  const int min = ctx_->min_version();
  const int max = ctx_->max_version();
  if (min == max) return "TLS " + version_name(min) + " only";
  return "TLS " + version_name(min) + " and " + version_name(max);
}

Error OpensslEngine::handshake_error(int ssl_error, bool before_server_hello) {
  const OpensslError e = take_openssl_error();
  if (verification_ && verification_->error().failed()) return verification_->error();
  const int native = static_cast<int>(e.code);
  if (const int alert = received_alert(e); alert >= 0) {
    std::string text = "TLS handshake failed: received fatal alert " + tls_alert_name(alert);
    if (before_server_hello &&
        (alert == kTlsAlertProtocolVersion || alert == kTlsAlertHandshakeFailure)) {
      text += " before ServerHello: no protocol version or cipher suite in common (we offer " +
              versions_offered() + ", with ECDHE and AEAD ciphers)";
    }
    return Error(Errc::tls, text + " [" + e.text + "]", native);
  }
  switch (e.from_ssl() ? e.reason() : 0) {
    case SSL_R_NO_SHARED_CIPHER:
      return Error(Errc::tls,
                   "TLS handshake failed: no cipher suite in common (we speak " +
                       versions_offered() + ", with ECDHE and AES-GCM or ChaCha20-Poly1305) [" +
                       e.text + "]",
                   native);
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
      return Error(Errc::tls,
                   "TLS handshake failed: the peer offers only TLS versions older than " +
                       version_name(ctx_->min_version()) + ", which we refuse [" + e.text + "]",
                   native);
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      // Our callback explains its refusals; this is OpenSSL's own verdict without one.
      return Error(Errc::tls_verify,
                   std::string("certificate rejected: ") +
                       X509_verify_cert_error_string(SSL_get_verify_result(ssl_)),
                   native);
    default:
      break;
  }
  if (ssl_error != SSL_ERROR_SSL && e.code == 0) {
    return Error(Errc::tls, "TLS handshake failed: OpenSSL error " + std::to_string(ssl_error));
  }
  return Error(Errc::tls, "TLS handshake failed: " + e.text, native);
}

// --- records -------------------------------------------------------------------------------------

Error OpensslEngine::record_error(int ssl_error, std::string_view during) {
  const OpensslError e = take_openssl_error();
  const int native = static_cast<int>(e.code);
  if (const int alert = received_alert(e); alert >= 0) {
    return Error(Errc::tls,
                 "TLS connection failed: received fatal alert " + tls_alert_name(alert) + " [" +
                     e.text + "]",
                 native);
  }
  if (e.from_ssl() && (e.reason() == SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC ||
                       e.reason() == SSL_R_DECRYPTION_FAILED)) {
    return Error(Errc::tls,
                 "TLS record authentication failed (bad_record_mac): the data was corrupted or "
                 "altered in transit [" +
                     e.text + "]",
                 native);
  }
  if (ssl_error != SSL_ERROR_SSL && e.code == 0) {
    return Error(Errc::tls, "TLS error while " + std::string(during) + ": OpenSSL error " +
                                std::to_string(ssl_error));
  }
  return Error(Errc::tls, "TLS error while " + std::string(during) + ": " + e.text, native);
}

Result<TlsReadStatus> OpensslEngine::read(ByteChain& out, size_t max) {
  if (failure_.failed()) return failure_;
  if (!done_) return Error(Errc::internal, "TLS read before the handshake finished");
  size_t got = 0;
  while (got < max) {
    std::span<uint8_t> room = out.reserve(kReadRoom);
    size_t n = 0;
    ERR_clear_error();
    if (SSL_read_ex(ssl_, room.data(), room.size(), &n) == 1) {
      out.commit(n);
      count_tls_out(n);
      got += n;
      continue;
    }
    const int err = SSL_get_error(ssl_, 0);
    // Also after a TLS 1.3 NewSessionTicket or KeyUpdate, or a refused renegotiation: the
    // records were handled, and any answer is waiting in the output.
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return TlsReadStatus::want_read;
    if (err == SSL_ERROR_ZERO_RETURN) return TlsReadStatus::close_notify;
    failure_ = record_error(err, "reading");
    return failure_;
  }
  return TlsReadStatus::more;
}

Result<size_t> OpensslEngine::write(std::span<const uint8_t> plaintext) {
  if (failure_.failed()) return failure_;
  if (!done_) return Error(Errc::internal, "TLS write before the handshake finished");
  const size_t n = std::min(plaintext.size(), kMaxRecordPlaintext);
  if (n == 0) return size_t{0};
  size_t written = 0;
  ERR_clear_error();
  if (SSL_write_ex(ssl_, plaintext.data(), n, &written) == 1) {
    count_tls_in(written);
    return written;
  }
  const int err = SSL_get_error(ssl_, 0);
  // Our BIO never blocks, so no half-written record is left behind to retry.
  if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) return size_t{0};
  failure_ = record_error(err, "writing");
  return failure_;
}

void OpensslEngine::close_notify() {
  if (!done_ || failure_.failed()) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // sends close_notify; the peer's own close_notify is read by read()
  ERR_clear_error();
}

// --- after the handshake -------------------------------------------------------------------------

std::string OpensslEngine::cipher_suite() const {
  if (!done_) return "";
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
  const char* name = cipher ? SSL_CIPHER_standard_name(cipher) : nullptr;
  return name ? name : "";
}

std::string OpensslEngine::protocol_version() const {
  return done_ ? SSL_get_version(ssl_) : "";
}

std::vector<std::vector<uint8_t>> OpensslEngine::peer_chain_der() const {
  std::vector<std::vector<uint8_t>> chain;
  X509* leaf = SSL_get0_peer_certificate(ssl_);
  if (leaf == nullptr) return chain;
  chain.push_back(openssl_der(leaf));
  // A client's view of the chain starts with the leaf; a server's does not.
  STACK_OF(X509)* rest = SSL_get_peer_cert_chain(ssl_);
  for (int i = 0; rest != nullptr && i < sk_X509_num(rest); ++i) {
    X509* crt = sk_X509_value(rest, i);
    if (i == 0 && X509_cmp(crt, leaf) == 0) continue;
    chain.push_back(openssl_der(crt));
  }
  return chain;
}

}  // namespace pvb
