// Faults below HTTP, decided for each accepted connection before MockServer puts TLS and an
// HttpConnection on it (connections are numbered from 1 in accept order):
// - reset_after=N: a FaultInjector under TLS resets the TCP connection once the server has written
//   N bytes of ciphertext on it (0: in answer to the ClientHello, mid-handshake);
// - chunk_writes=N: a ChunkLimiter under TLS: every server write leaves in pieces of at most N
//   bytes (with TCP_NODELAY, as separate segments), and what the client sends is read N at a time;
// - cert_change_after=N: connections after the Nth get a second certificate from a second CA, as
//   if the node's certificate changed between two calls (or someone sits in between);
// - tls_alert=handshake: a plaintext fatal handshake_failure alert answers the ClientHello;
// - tls_alert=request, tls_renegotiate: a raw mbedTLS server with the real certificate completes
//   the handshake, reads the first request, then sends a fatal internal_error alert, or a
//   HelloRequest (logging how the client answers it: a client must refuse with a no_renegotiation
//   alert) followed by a fatal handshake_failure alert. Neither is reachable through TlsEngine,
//   which never sends either, hence mbedTLS directly here.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "engine/core/loop.h"
#include "engine/io/transport.h"
#include "tests/mock_pveproxy/mock_options.h"
#include "tests/mock_pveproxy/server/http_connection.h"
#include "transports/tls/tls_config.h"
#include "transports/tls/tls_engine.h"

namespace pvb::mock {

// A connection a fault serves by itself (no HTTP): owned by ConnectionFaults until it ends.
class FaultSession : protected TransportSink {
 public:
  using DoneFn = std::function<void(FaultSession&)>;
  FaultSession(std::unique_ptr<Transport> connection, LogFn log, std::string peer);
  ~FaultSession() override;
  FaultSession(const FaultSession&) = delete;
  FaultSession& operator=(const FaultSession&) = delete;

  // Starts the connection; `done` comes once it has closed.
  void start(DoneFn done);
  Loop& loop() const { return connection_->loop(); }

 protected:
  void on_closed(const Error& error) override;
  void log(const std::string& line) { log_(peer_ + ": " + line); }

  std::unique_ptr<Transport> connection_;

 private:
  LogFn log_;
  std::string peer_;
  DoneFn done_;
};

// The plaintext record of a fatal handshake_failure alert (TLS 1.2 record version).
std::string handshake_failure_alert_record();

class ConnectionFaults {
 public:
  // Null when `options` holds no fault of this kind. `tls` is the server's own TLS configuration:
  // the mbedTLS sessions use its certificate, so a client that pins it gets past verification.
  static Result<std::unique_ptr<ConnectionFaults>> create(const MockOptions& options,
                                                          const TlsServerConfig& tls, LogFn log);
  ~ConnectionFaults();
  ConnectionFaults(const ConnectionFaults&) = delete;
  ConnectionFaults& operator=(const ConnectionFaults&) = delete;

  // For each new connection: the transport to put TLS on (maybe wrapped), with `tls` replaced
  // when the certificate changed (left alone when null: plain HTTP in tests); or null when a
  // fault session took the connection over.
  std::unique_ptr<Transport> prepare(std::unique_ptr<Transport> connection, const std::string& peer,
                                     std::shared_ptr<TlsContext>& tls);
  // Drops every fault session now.
  void shut_down();

  uint64_t connections() const { return connections_; }
  size_t sessions() const { return sessions_.size(); }
  // The second certificate's fingerprint (cert_change_after).
  const std::optional<Sha256Fingerprint>& second_fingerprint() const { return second_fp_; }

 private:
  ConnectionFaults(const MockOptions& options, LogFn log);
  void adopt(std::unique_ptr<FaultSession> session);

  MockOptions options_;
  LogFn log_;
  std::shared_ptr<TlsContext> mbedtls_;  // tls_alert=request, tls_renegotiate
  std::shared_ptr<TlsContext> second_;   // cert_change_after
  std::optional<Sha256Fingerprint> second_fp_;
  uint64_t connections_ = 0;
  std::map<FaultSession*, std::unique_ptr<FaultSession>> sessions_;
};

}  // namespace pvb::mock
