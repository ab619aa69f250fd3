#include "tls_test_util.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "engine/core/random.h"

namespace pvb::tls_test {
namespace {

GeneratedCert make(const CertSpec& spec) {
  Result<GeneratedCert> cert = generate_cert(spec);
  if (!cert.ok()) {
    ADD_FAILURE() << "generate_cert: " << cert.error().message();
    return {};
  }
  return std::move(cert).value();
}

TestPki make_pki() {
  TestPki p;
  p.ca = make({.common_name = "pvebridge test CA", .is_ca = true});
  p.other_ca = make({.common_name = "Another CA", .is_ca = true});
  p.leaf = make({.common_name = "pve1.example.com",
                 .dns_sans = {"pve1.example.com"},
                 .ip_sans = {"192.0.2.10", "2001:db8::10"},
                 .issuer = &p.ca});
  p.wildcard = make(
      {.common_name = "*.pve.example.com", .dns_sans = {"*.pve.example.com"}, .issuer = &p.ca});
  p.cn_only = make({.common_name = "cnonly.example.com", .issuer = &p.ca});
  p.cn_ip = make({.common_name = "192.0.2.20", .issuer = &p.ca});
  p.expired = make({.common_name = "pve1.example.com",
                    .dns_sans = {"pve1.example.com"},
                    .issuer = &p.ca,
                    .valid_days = 1,
                    .not_before_offset = -2 * 86400});
  p.stranger = make(
      {.common_name = "pve1.example.com", .dns_sans = {"pve1.example.com"}, .issuer = &p.other_ca});
  p.self_signed = make({.common_name = "pve1.example.com", .dns_sans = {"pve1.example.com"}});
  return p;
}

}  // namespace

const TestPki& pki() {
  static const TestPki p = make_pki();
  return p;
}

std::string chain_pem(const GeneratedCert& leaf, const GeneratedCert* ca) {
  return ca ? leaf.cert_pem + ca->cert_pem : leaf.cert_pem;
}

std::shared_ptr<TlsContext> server_context(const GeneratedCert& leaf, const GeneratedCert* ca,
                                           std::vector<std::string> ciphers) {
  TlsServerConfig config;
  config.cert_chain_pem = chain_pem(leaf, ca);
  config.key_pem = leaf.key_pem;
  config.cipher_suites = std::move(ciphers);
  auto ctx = TlsContext::create_server(config);
  if (!ctx.ok()) {
    ADD_FAILURE() << "create_server: " << ctx.error().message();
    return nullptr;
  }
  return ctx.value();
}

std::shared_ptr<TlsContext> client_context(TlsClientConfig config) {
  auto ctx = TlsContext::create_client(config);
  if (!ctx.ok()) {
    ADD_FAILURE() << "create_client: " << ctx.error().message();
    return nullptr;
  }
  return ctx.value();
}

TlsClientConfig ca_config(const GeneratedCert& ca) {
  TlsClientConfig config;
  config.verify = TlsVerify::ca_file;
  config.ca_pem = ca.cert_pem;
  return config;
}

TlsClientConfig pinned_config(std::vector<Sha256Fingerprint> pins) {
  TlsClientConfig config;
  config.verify = TlsVerify::pinned;
  config.pins = std::move(pins);
  return config;
}

void Collector::on_connected() {
  connected = true;
  if (on_connect) on_connect();
}

void Collector::on_data(ByteChain& chain, bool end_stream) {
  ++data_calls;
  data += chain.to_string();
  chain.clear();
  ended |= end_stream;
}

void Collector::on_closed(const Error& e) {
  closed = true;
  error = e;
}

void TapTransport::write(ByteChain& data, bool end_stream) {
  if (data.size() > 0) ++writes;
  bytes_out += data.size();
  TransportOverlay::write(data, end_stream);
}

void TapTransport::on_data(ByteChain& data, bool end_stream) {
  const uint64_t first = bytes_in;
  bytes_in += data.size();
  if (corrupt_in_at >= 0 && static_cast<uint64_t>(corrupt_in_at) >= first &&
      static_cast<uint64_t>(corrupt_in_at) < bytes_in) {
    size_t offset = static_cast<size_t>(corrupt_in_at) - first;
    for (const Slice& s : data.slices()) {
      if (offset < s.size()) {
        s.block->data()[s.begin + offset] ^= 0x01;
        break;
      }
      offset -= s.size();
    }
    corrupt_in_at = -1;
  }
  rx_.move_from(data);
  emit_data(rx_, end_stream);
}

TlsPair::TlsPair(Loop& l, std::shared_ptr<TlsContext> client_ctx,
                 std::shared_ptr<TlsContext> server_ctx, std::string server_name,
                 MemPipeOptions options)
    : loop(l) {
  auto [a, b] = make_mem_pipe(loop, options);
  auto ctap = std::make_unique<TapTransport>(std::move(a));
  auto stap = std::make_unique<TapTransport>(std::move(b));
  client_tap = ctap.get();
  server_tap = stap.get();
  client = std::make_unique<TlsTransport>(std::move(ctap), std::move(client_ctx),
                                          std::move(server_name));
  server = std::make_unique<TlsTransport>(std::move(stap), std::move(server_ctx), "");
  client->set_sink(&c);
  server->set_sink(&s);
}

void TlsPair::start() {
  client->start();
  server->start();
}

bool TlsPair::handshake() {
  start();
  loop.run_until([&] { return (c.connected && s.connected) || c.closed || s.closed; });
  return c.connected && s.connected;
}

std::string random_bytes(size_t n, uint64_t seed) {
  SeededRandom random(seed);
  std::string s(n, '\0');
  random.fill(s.data(), s.size());
  return s;
}

}  // namespace pvb::tls_test

namespace {

// Prints how many handshakes the suite did, for the module's report.
class HandshakeCounter : public ::testing::Environment {
 public:
  void TearDown() override {
    const pvb::TlsHandshakeStats& s = pvb::tls_handshake_stats();
    std::printf("[tls] handshakes completed (both roles): %llu full, %llu resumed\n",
                static_cast<unsigned long long>(s.full),
                static_cast<unsigned long long>(s.resumed));
  }
};

[[maybe_unused]] ::testing::Environment* const kHandshakeCounter =
    ::testing::AddGlobalTestEnvironment(new HandshakeCounter);

}  // namespace
