// Shared pieces of the TLS tests: a test PKI generated once per process, a collecting sink, a tap
// transport that watches (and can corrupt) the ciphertext in flight, and a connected client/server
// pair over a MemPipe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/core/loop.h"
#include "transports/testing/cert_gen.h"
#include "transports/testing/mem_pipe.h"
#include "transports/tls/tls_transport.h"

namespace pvb::tls_test {

// Certificates for every test, made once (a few ms each).
struct TestPki {
  GeneratedCert ca;           // "pvebridge test CA"
  GeneratedCert other_ca;     // an unrelated CA
  GeneratedCert leaf;         // by ca: pve1.example.com, 192.0.2.10, 2001:db8::10
  GeneratedCert wildcard;     // by ca: *.pve.example.com
  GeneratedCert cn_only;      // by ca: CN=cnonly.example.com, no SAN at all
  GeneratedCert cn_ip;        // by ca: CN=192.0.2.20, no SAN (an IP never matches a CN)
  GeneratedCert expired;      // by ca: pve1.example.com, expired yesterday
  GeneratedCert stranger;     // by other_ca: pve1.example.com
  GeneratedCert self_signed;  // pve1.example.com, self-signed (pinning tests)
};
const TestPki& pki();

// The server chain PEM (leaf + its CA, as pveproxy sends it).
std::string chain_pem(const GeneratedCert& leaf, const GeneratedCert* ca);
std::shared_ptr<TlsContext> server_context(const GeneratedCert& leaf,
                                           const GeneratedCert* ca = nullptr,
                                           std::vector<std::string> ciphers = {});
std::shared_ptr<TlsContext> client_context(TlsClientConfig config);
TlsClientConfig ca_config(const GeneratedCert& ca);
TlsClientConfig pinned_config(std::vector<Sha256Fingerprint> pins);

// Collects everything a transport delivers.
struct Collector : TransportSink {
  std::string data;
  bool connected = false;
  bool ended = false;
  bool closed = false;
  int data_calls = 0;
  int highs = 0;
  int lows = 0;
  Error error;
  std::function<void()> on_connect;
  void on_connected() override;
  void on_data(ByteChain& chain, bool end_stream) override;
  void on_write_high() override { ++highs; }
  void on_write_low() override { ++lows; }
  void on_closed(const Error& e) override;
};

// Sits between a TLS transport and its lower transport, forwarding everything both ways. Counts
// the ciphertext and can flip one incoming byte (by stream offset) to play a corrupting network.
class TapTransport : public TransportOverlay {
 public:
  explicit TapTransport(std::unique_ptr<Transport> lower) : TransportOverlay(std::move(lower)) {}

  void write(ByteChain& data, bool end_stream = false) override;

  uint64_t bytes_in = 0;       // received from the peer
  uint64_t bytes_out = 0;      // written towards the peer
  uint64_t writes = 0;         // write() calls that carried bytes
  int64_t corrupt_in_at = -1;  // stream offset of the incoming byte to flip; -1 = none

 protected:
  void on_data(ByteChain& data, bool end_stream) override;

 private:
  ByteChain rx_;
};

// A client and a server TlsTransport joined by a MemPipe, each with a tap under it.
struct TlsPair {
  TlsPair(Loop& loop, std::shared_ptr<TlsContext> client_ctx,
          std::shared_ptr<TlsContext> server_ctx, std::string server_name,
          MemPipeOptions options = {});
  void start();
  // Runs until both sides are connected or one is closed; returns true if both connected.
  bool handshake();

  Loop& loop;
  TapTransport* client_tap = nullptr;
  TapTransport* server_tap = nullptr;
  std::unique_ptr<TlsTransport> client;
  std::unique_ptr<TlsTransport> server;
  Collector c;  // the client's sink
  Collector s;  // the server's sink
};

// Deterministic pseudo-random payload.
std::string random_bytes(size_t n, uint64_t seed);

}  // namespace pvb::tls_test
