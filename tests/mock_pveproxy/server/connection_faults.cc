#include "tests/mock_pveproxy/server/connection_faults.h"

#include <mbedtls/ssl.h>

#include <string>

#include "transports/testing/chunk_limiter.h"
#include "transports/testing/fault_injector.h"
#include "transports/testing/server_identity.h"
#include "transports/tls/mbedtls/mbedtls_context.h"
#include "transports/tls/mbedtls/mbedtls_random.h"
#include "transports/tls/tls_alert.h"

namespace pvb::mock {

namespace {

constexpr uint8_t kRecordAlert = 21;
constexpr uint8_t kRecordHandshake = 22;
constexpr uint8_t kRecordApplicationData = 23;

// tls_alert=handshake: whatever the client says first (its ClientHello) is answered with a fatal
// alert in the clear, as a server that shares no cipher suite or version with it would.
class HandshakeAlertSession final : public FaultSession {
 public:
  using FaultSession::FaultSession;

 private:
  void on_data(ByteChain& data, bool end_stream) override {
    data.clear();
    if (answered_) return;
    answered_ = true;
    log("fatal TLS alert handshake_failure in answer to the ClientHello (fault tls_alert)");
    ByteChain out(handshake_failure_alert_record());
    connection_->write(out, /*end_stream=*/true);
    connection_->close(CloseMode::Flush);
  }
  bool answered_ = false;
};

// tls_alert=request and tls_renegotiate: a TLS 1.2 server on mbedTLS, driven by hand.
class HostileTlsSession final : public FaultSession {
 public:
  enum class Mode { alert, renegotiate };

  HostileTlsSession(std::unique_ptr<Transport> connection, LogFn log, std::string peer,
                    std::shared_ptr<TlsContext> context, Mode mode)
      : FaultSession(std::move(connection), std::move(log), std::move(peer)),
        context_(std::move(context)),
        mode_(mode) {
    mbedtls_ssl_init(&ssl_);
    auto* mbed = static_cast<MbedtlsContext*>(context_.get());
    setup_ = mbedtls_ssl_setup(&ssl_, mbed->conf());
    mbedtls_ssl_set_bio(&ssl_, this, &HostileTlsSession::send_cb, &HostileTlsSession::recv_cb,
                        nullptr);
  }
  ~HostileTlsSession() override { mbedtls_ssl_free(&ssl_); }

 private:
  enum class Phase { handshake, request, renegotiation_answer, done };

  static int send_cb(void* self, const unsigned char* buf, size_t len) {
    static_cast<HostileTlsSession*>(self)->out_.append(buf, len);
    return static_cast<int>(len);
  }
  static int recv_cb(void* self, unsigned char* buf, size_t len) {
    ByteChain& in = static_cast<HostileTlsSession*>(self)->in_;
    if (in.empty()) return MBEDTLS_ERR_SSL_WANT_READ;
    size_t n = in.copy_out(buf, len);
    in.drain(n);
    return static_cast<int>(n);
  }

  void on_data(ByteChain& data, bool end_stream) override {
    if (phase_ == Phase::renegotiation_answer) watch_records(data);
    in_.move_from(data);
    if (setup_ != 0) {
      log("TLS setup failed: " + mbedtls_error_text(setup_));
      return end(CloseMode::Abort);
    }
    progress();
    if (end_stream && phase_ != Phase::done) {
      log("the client closed the connection");
      end(CloseMode::Flush);
    }
  }

  void progress() {
    if (phase_ == Phase::handshake) {
      int ret = mbedtls_ssl_handshake(&ssl_);
      flush();
      if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return;
      if (ret != 0) {
        log("TLS handshake failed: " + mbedtls_error_text(ret));
        return end(CloseMode::Abort);
      }
      phase_ = Phase::request;
    }
    if (phase_ == Phase::done) return;
    unsigned char buf[4096];
    int ret = mbedtls_ssl_read(&ssl_, buf, sizeof buf);
    flush();
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return;
    if (ret <= 0) {
      log("TLS read failed: " + mbedtls_error_text(ret));
      return end(CloseMode::Abort);
    }
    if (phase_ != Phase::request) return;  // more of the request: ignored
    if (mode_ == Mode::alert) {
      log("fatal TLS alert internal_error in answer to the request (fault tls_alert)");
      return fatal_alert(MBEDTLS_SSL_ALERT_MSG_INTERNAL_ERROR);
    }
    ret = mbedtls_ssl_renegotiate(&ssl_);
    flush();
    if (ret != 0 && ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
      log("cannot request a renegotiation: " + mbedtls_error_text(ret));
      return end(CloseMode::Abort);
    }
    log("TLS HelloRequest sent in answer to the request (fault tls_renegotiate)");
    phase_ = Phase::renegotiation_answer;
  }

  // After the HelloRequest: the type of the client's next record says how it answered (record
  // headers travel in the clear).
  void watch_records(const ByteChain& data) {
    for (size_t i = 0; i < data.size() && phase_ == Phase::renegotiation_answer; ++i) {
      const uint8_t b = data.at(i);
      if (record_left_ > 0) {
        --record_left_;
        continue;
      }
      header_[header_have_++] = b;
      if (header_have_ < sizeof header_) continue;
      header_have_ = 0;
      record_left_ = (size_t{header_[3]} << 8) | header_[4];
      switch (header_[0]) {
        case kRecordAlert:
          log("the client refused the renegotiation (it answered with an alert)");
          break;
        case kRecordHandshake:
          log("the client accepted the renegotiation (it answered with a ClientHello)");
          break;
        case kRecordApplicationData:
          log("the client ignored the HelloRequest (it sent application data)");
          break;
        default:
          log("the client answered the HelloRequest with record type " +
              std::to_string(header_[0]));
          break;
      }
      fatal_alert(MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
    }
  }

  void fatal_alert(unsigned char description) {
    mbedtls_ssl_send_alert_message(&ssl_, MBEDTLS_SSL_ALERT_LEVEL_FATAL, description);
    flush();
    end(CloseMode::Flush);
  }

  void flush() {
    if (!out_.empty()) connection_->write(out_);
  }

  void end(CloseMode mode) {
    if (phase_ == Phase::done) return;
    phase_ = Phase::done;
    connection_->close(mode);
  }

  std::shared_ptr<TlsContext> context_;  // owns the mbedtls_ssl_config
  Mode mode_;
  mbedtls_ssl_context ssl_;
  int setup_ = 0;
  Phase phase_ = Phase::handshake;
  ByteChain in_;   // ciphertext from the client, not yet consumed by mbedTLS
  ByteChain out_;  // ciphertext from mbedTLS, not yet written
  uint8_t header_[5] = {};
  size_t header_have_ = 0;
  size_t record_left_ = 0;
};

}  // namespace

std::string handshake_failure_alert_record() {
  const char record[] = {kRecordAlert, 0x03, 0x03, 0x00, 0x02, 0x02, kTlsAlertHandshakeFailure};
  return std::string(record, sizeof record);
}

FaultSession::FaultSession(std::unique_ptr<Transport> connection, LogFn log, std::string peer)
    : connection_(std::move(connection)), log_(std::move(log)), peer_(std::move(peer)) {}

FaultSession::~FaultSession() {
  if (connection_->sink() == this) connection_->set_sink(nullptr);
}

void FaultSession::start(DoneFn done) {
  done_ = std::move(done);
  connection_->set_sink(this);
  connection_->start();
}

void FaultSession::on_closed(const Error&) {
  if (DoneFn done = std::move(done_)) {
    done_ = nullptr;
    done(*this);
  }
}

ConnectionFaults::ConnectionFaults(const MockOptions& options, LogFn log)
    : options_(options), log_(std::move(log)) {}

ConnectionFaults::~ConnectionFaults() {
  shut_down();
}

Result<std::unique_ptr<ConnectionFaults>> ConnectionFaults::create(const MockOptions& options,
                                                                   const TlsServerConfig& tls,
                                                                   LogFn log) {
  if (!options.has_connection_faults()) return std::unique_ptr<ConnectionFaults>();
  std::unique_ptr<ConnectionFaults> faults(new ConnectionFaults(options, log));
  const std::optional<TlsAlertPoint> alert = options.tls_alert();
  if ((alert && *alert == TlsAlertPoint::request) || options.tls_renegotiate()) {
    TlsServerConfig c = tls;
    c.backend = TlsBackendKind::mbedtls;
    c.session_tickets = false;
    Result<std::shared_ptr<TlsContext>> ctx = TlsContext::create_server(c);
    if (!ctx.ok()) return Error(ctx.error()).context("the mbedTLS server of the TLS faults");
    faults->mbedtls_ = std::move(*ctx);
  }
  if (std::optional<uint64_t> after = options.cert_change_after()) {
    Result<ServerIdentity> id = generate_server_identity();
    if (!id.ok()) return Error(id.error()).context("the second certificate");
    TlsServerConfig c = tls;
    c.cert_chain_pem = id->chain_pem;
    c.key_pem = id->key_pem;
    Result<std::shared_ptr<TlsContext>> ctx = TlsContext::create_server(c);
    if (!ctx.ok()) return Error(ctx.error()).context("the second certificate");
    faults->second_ = std::move(*ctx);
    faults->second_fp_ = id->fingerprint;
    log("fault cert_change_after: connections after the " + std::to_string(*after) +
        "th get the certificate " + format_fingerprint(id->fingerprint));
  }
  return faults;
}

std::unique_ptr<Transport> ConnectionFaults::prepare(std::unique_ptr<Transport> connection,
                                                     const std::string& peer,
                                                     std::shared_ptr<TlsContext>& tls) {
  ++connections_;
  const std::optional<TlsAlertPoint> alert = options_.tls_alert();
  if (alert && *alert == TlsAlertPoint::handshake) {
    adopt(std::make_unique<HandshakeAlertSession>(std::move(connection), log_, peer));
    return nullptr;
  }
  if (mbedtls_) {
    const auto mode = options_.tls_renegotiate() ? HostileTlsSession::Mode::renegotiate
                                                 : HostileTlsSession::Mode::alert;
    adopt(std::make_unique<HostileTlsSession>(std::move(connection), log_, peer, mbedtls_, mode));
    return nullptr;
  }
  if (second_ && tls && connections_ > *options_.cert_change_after()) {
    log_(peer + ": served with the second certificate (fault cert_change_after)");
    tls = second_;
  }
  if (std::optional<uint64_t> chunk = options_.chunk_writes()) {
    connection = std::make_unique<ChunkLimiter>(std::move(connection), static_cast<size_t>(*chunk));
  }
  if (std::optional<uint64_t> after = options_.reset_after()) {
    FaultPlan plan;
    plan.reset_after_write = static_cast<size_t>(*after);
    plan.error = Error(Errc::connection_lost,
                       "reset after " + std::to_string(*after) + " bytes (fault reset_after)");
    connection = std::make_unique<FaultInjector>(std::move(connection), plan);
  }
  return connection;
}

void ConnectionFaults::adopt(std::unique_ptr<FaultSession> session) {
  FaultSession* raw = session.get();
  sessions_.emplace(raw, std::move(session));
  raw->start([this](FaultSession& s) {
    auto it = sessions_.find(&s);
    if (it == sessions_.end()) return;
    std::unique_ptr<FaultSession> done = std::move(it->second);
    sessions_.erase(it);
    // We are inside its transport's callback: delete it later.
    Loop& loop = done->loop();
    loop.defer_delete(std::move(done));
  });
}

void ConnectionFaults::shut_down() {
  sessions_.clear();
}

}  // namespace pvb::mock
