// The body of fuzz_tls_server_input and fuzz_tls_client_input: a TlsTransport (the victim) on a
// MemPipe whose other end writes the fuzz input as ciphertext, on a real Loop, run until idle.
//
// Flags (byte 0):
//   bit 0  after a handshake: first complete a real handshake with a genuine peer TlsTransport
//          (resumed from the session cache after the first run, so it stays cheap), then inject
//          the input into the victim's stream after the peer's records: the record layer of an
//          established connection (record headers, bad MACs, alerts, renegotiation attempts);
//          otherwise the input is the peer's very first bytes: the handshake parser.
//   bit 1  end the stream after the input.
//   bit 2  (client victim) --insecure: no certificate check, so a fuzzed Certificate is not the
//          end of the handshake and ServerKeyExchange parsing is reached.
//   bit 3  the OpenSSL backend (TLS 1.2 and 1.3) instead of mbedTLS, for the victim and its peer.
//
// Invariants:
// - nothing crashes or hangs (libFuzzer's -timeout catches a loop that never goes idle);
// - fuzzed bytes never complete a handshake and never decrypt into plaintext for the sink;
// - a failure is Errc::tls or Errc::tls_verify with one line of text;
// - the end of the stream during the handshake always fails the victim (never a silent wait);
//   after the handshake it is an error or an end_stream.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/core/loop.h"
#include "fuzz/fuzz_support.h"
#include "transports/testing/cert_gen.h"
#include "transports/testing/mem_pipe.h"
#include "transports/tls/tls_engine.h"
#include "transports/tls/tls_transport.h"

namespace pvb::fuzz {

inline constexpr std::string_view kTlsServerName = "pve1.example.com";

// One backend's contexts.
struct TlsFuzzContexts {
  std::shared_ptr<TlsContext> server;
  std::shared_ptr<TlsContext> client;           // pins the server's certificate
  std::shared_ptr<TlsContext> client_insecure;  // checks nothing
};

inline TlsFuzzContexts make_tls_fuzz_contexts(TlsBackendKind backend, const GeneratedCert& cert) {
  TlsServerConfig server;
  server.backend = backend;
  server.cert_chain_pem = cert.cert_pem;
  server.key_pem = cert.key_pem;
  auto s = TlsContext::create_server(server);
  FUZZ_CHECK(s.ok(), "create_server: " + s.error().message());
  TlsClientConfig client;
  client.backend = backend;
  client.verify = TlsVerify::pinned;
  client.pins = {cert.fingerprint};
  auto c = TlsContext::create_client(client);
  FUZZ_CHECK(c.ok(), "create_client: " + c.error().message());
  client.verify = TlsVerify::insecure;
  client.pins.clear();
  auto ci = TlsContext::create_client(client);
  FUZZ_CHECK(ci.ok(), "create_client: " + ci.error().message());
  return TlsFuzzContexts{s.value(), c.value(), ci.value()};
}

// Made once per process: key generation and signing take milliseconds.
inline const TlsFuzzContexts& tls_fuzz_contexts(TlsBackendKind backend) {
  static const GeneratedCert cert = [] {
    auto c = generate_cert({.common_name = std::string(kTlsServerName),
                            .dns_sans = {std::string(kTlsServerName)},
                            .ip_sans = {"192.0.2.10"}});
    FUZZ_CHECK(c.ok(), "generate_cert: " + c.error().message());
    return std::move(c).value();
  }();
  static const TlsFuzzContexts mbedtls = make_tls_fuzz_contexts(TlsBackendKind::mbedtls, cert);
  static const TlsFuzzContexts openssl = make_tls_fuzz_contexts(TlsBackendKind::openssl, cert);
  return backend == TlsBackendKind::openssl ? openssl : mbedtls;
}

struct TlsEndpoint : TransportSink {
  bool connected = false;
  bool ended = false;
  bool closed = false;
  size_t plaintext_bytes = 0;
  Error error;
  void on_connected() override { connected = true; }
  void on_data(ByteChain& data, bool end_stream) override {
    plaintext_bytes += data.size();
    data.clear();
    ended |= end_stream;
  }
  void on_closed(const Error& e) override {
    closed = true;
    error = e;
  }
};

inline int fuzz_tls_input(TlsRole victim_role, const uint8_t* bytes, size_t size) {
  ChunkedInput input = parse_chunked_input(bytes, size);
  const TlsFuzzContexts& ctx =
      tls_fuzz_contexts((input.flags & 8) ? TlsBackendKind::openssl : TlsBackendKind::mbedtls);
  const bool after_handshake = (input.flags & 1) != 0;
  const bool end_stream = (input.flags & 2) != 0;
  const bool victim_is_server = victim_role == TlsRole::server;
  const std::shared_ptr<TlsContext>& client_ctx =
      (input.flags & 4) ? ctx.client_insecure : ctx.client;

  Loop loop;
  TlsEndpoint victim_sink;
  TlsEndpoint peer_sink;
  {
    auto [near, far] = make_mem_pipe(loop);
    auto victim = std::make_unique<TlsTransport>(
        std::move(far), victim_is_server ? ctx.server : client_ctx,
        victim_is_server ? std::string() : std::string(kTlsServerName));
    victim->set_sink(&victim_sink);

    std::unique_ptr<Transport> peer;
    Transport* raw = nullptr;  // where the fuzz input is written, below any TLS
    if (after_handshake) {
      auto tls_peer = std::make_unique<TlsTransport>(
          std::move(near), victim_is_server ? client_ctx : ctx.server,
          victim_is_server ? std::string(kTlsServerName) : std::string());
      raw = &tls_peer->lower_transport();
      peer = std::move(tls_peer);
    } else {
      raw = near.get();
      peer = std::move(near);
    }
    peer->set_sink(&peer_sink);
    peer->start();
    victim->start();
    if (after_handshake) {
      loop.run_until([&] {
        return (victim_sink.connected && peer_sink.connected) || victim_sink.closed ||
               peer_sink.closed;
      });
      FUZZ_CHECK(victim_sink.connected && peer_sink.connected,
                 "the handshake with a genuine peer failed: " + victim_sink.error.message() +
                     " / " + peer_sink.error.message());
      // Let the peer's last records (session ticket, Finished) reach the victim first.
      loop.run_until([] { return false; });
    }
    const bool was_connected = victim_sink.connected;

    for_each_chunk(input.data, input.chunk_sizes, [&](std::string_view chunk) {
      ByteChain c;
      append_chunk(c, chunk);
      raw->write(c);
      loop.run_until([&] { return victim_sink.closed; });
      return !victim_sink.closed;
    });
    if (end_stream && !victim_sink.closed) {
      ByteChain none;
      raw->write(none, true);
      loop.run_until([&] { return victim_sink.closed; });
      if (was_connected) {
        FUZZ_CHECK(victim_sink.closed || victim_sink.ended, "end of stream not reported");
      } else {
        FUZZ_CHECK(victim_sink.closed, "end of stream during the handshake left it waiting");
      }
    }
    loop.run_until([] { return false; });

    FUZZ_CHECK(victim_sink.connected == was_connected, "fuzzed bytes completed a handshake");
    FUZZ_CHECK(victim_sink.plaintext_bytes == 0,
               std::to_string(victim_sink.plaintext_bytes) + " bytes of forged plaintext");
    if (victim_sink.closed && victim_sink.error.failed()) {
      const Error& e = victim_sink.error;
      // not_tls: the fuzzed peer's first bytes were "HTTP/", which the victim names as such.
      FUZZ_CHECK(e.code() == Errc::tls || e.code() == Errc::tls_verify || e.code() == Errc::not_tls,
                 std::string("victim failed with ") + errc_name(e.code()) + ": " + e.message());
      FUZZ_CHECK(is_one_line(e.message()), "multi-line error: " + printable(e.message()));
    }
    victim.reset();
    peer.reset();
  }
  return 0;
}

}  // namespace pvb::fuzz
