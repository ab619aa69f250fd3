// tls_backend_throughput: how fast each TLS backend moves bytes, client to server through a
// MemPipe in one thread (so each figure is encryption plus decryption on one core, plus our TLS
// transport's own work). Prints MB/s per backend and cipher suite, and OpenSSL/mbedTLS ratios.
// The figures are per CPU second of this (single-threaded) process, so a busy shared machine
// changes them little; wall-clock MB/s is printed alongside.
//
//   build/openssl/tests/transports/tls/tls_backend_throughput [MiB per run, default 256]
//
// Certificates are ECDSA P-256 (cert_gen). Both backends run the TLS 1.2 suites, the only ones
// mbedTLS has; OpenSSL also runs TLS 1.3 AES-128-GCM, what two OpenSSL ends pick by default.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/core/loop.h"
#include "engine/core/random.h"
#include "transports/testing/cert_gen.h"
#include "transports/testing/mem_pipe.h"
#include "transports/tls/tls_transport.h"

namespace pvb {
namespace {

constexpr size_t kChunk = 1024 * 1024;

// Writes `total` bytes in 1 MiB chunks whose slices share one pre-filled chain (no copies on our
// side), topping up whenever the transport drains below its low mark.
struct Source : TransportSink {
  Transport* t = nullptr;
  const ByteChain* pattern = nullptr;
  uint64_t left = 0;
  Error error;
  bool closed = false;
  void top_up() {
    while (left > 0 && t->pending_write_bytes() < t->write_high_mark()) {
      ByteChain chunk;
      pattern->for_each_slice([&](const Slice& s) { chunk.append_slice(s); });
      left -= chunk.size();
      t->write(chunk);
    }
  }
  void on_connected() override { top_up(); }
  void on_data(ByteChain& data, bool) override { data.clear(); }
  void on_write_low() override { top_up(); }
  void on_closed(const Error& e) override {
    closed = true;
    error = e;
  }
};

struct Sink : TransportSink {
  uint64_t got = 0;
  Error error;
  bool closed = false;
  void on_data(ByteChain& data, bool) override {
    got += data.size();
    data.clear();
  }
  void on_closed(const Error& e) override {
    closed = true;
    error = e;
  }
};

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Run {
  double mb_per_cpu_s = 0;
  double mb_per_s = 0;
  std::string version;
  std::string suite;
};

Result<Run> measure(TlsBackendKind backend, const std::string& suite, const GeneratedCert& cert,
                    uint64_t total, const ByteChain& pattern) {
  TlsServerConfig server_config;
  server_config.backend = backend;
  server_config.cert_chain_pem = cert.cert_pem;
  server_config.key_pem = cert.key_pem;
  server_config.cipher_suites = {suite};
  auto server_ctx = TlsContext::create_server(server_config);
  if (!server_ctx.ok()) return server_ctx.error();
  TlsClientConfig client_config;
  client_config.backend = backend;
  client_config.verify = TlsVerify::pinned;
  client_config.pins = {cert.fingerprint};
  client_config.cipher_suites = {suite};
  auto client_ctx = TlsContext::create_client(client_config);
  if (!client_ctx.ok()) return client_ctx.error();

  Loop loop;
  auto [a, b] = make_mem_pipe(loop);
  TlsTransport client(std::move(a), client_ctx.value(), "bench.invalid");
  TlsTransport server(std::move(b), server_ctx.value(), "");
  Source source;
  source.t = &client;
  source.pattern = &pattern;
  source.left = total;
  Sink sink;
  client.set_write_watermarks(4 * kChunk, kChunk);
  client.set_sink(&source);
  server.set_sink(&sink);
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_seconds();
  client.start();
  server.start();
  loop.run_until([&] { return sink.got >= total || source.closed || sink.closed; });
  const double cpu = cpu_seconds() - cpu_start;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (source.closed) return source.error.failed() ? source.error : Error(Errc::internal, "closed");
  if (sink.closed) return sink.error.failed() ? sink.error : Error(Errc::internal, "closed");
  Run run{static_cast<double>(total) / cpu / 1e6, static_cast<double>(total) / seconds / 1e6,
          client.protocol_version(), client.cipher_suite()};
  client.close(CloseMode::Abort);
  server.close(CloseMode::Abort);
  loop.run_until([] { return false; });
  return run;
}

int run_all(uint64_t mib) {
  auto cert = generate_cert({.common_name = "bench.invalid", .dns_sans = {"bench.invalid"}});
  if (!cert.ok()) {
    std::fprintf(stderr, "generate_cert: %s\n", cert.error().message().c_str());
    return 1;
  }
  ByteChain pattern;
  {
    std::vector<uint8_t> bytes(kChunk);
    SeededRandom random(42);
    random.fill(bytes.data(), bytes.size());
    pattern.append(bytes.data(), bytes.size());
  }
  const uint64_t total = mib * kChunk;
  struct Case {
    const char* label;
    const char* suite;
    bool mbedtls_too;
  };
  const Case cases[] = {
      {"AES-128-GCM (TLS 1.2)", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", true},
      {"ChaCha20-Poly1305 (TLS 1.2)", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", true},
      {"AES-128-GCM (TLS 1.3)", "TLS_AES_128_GCM_SHA256", false},
  };
  std::printf(
      "%llu MiB client -> server over a MemPipe, one thread (encrypt + decrypt); ratio = "
      "OpenSSL/mbedTLS per CPU second\n",
      static_cast<unsigned long long>(mib));
  std::printf("%-28s %20s %20s %7s\n", "", "mbedTLS MB/s", "OpenSSL MB/s", "");
  std::printf("%-28s %10s %9s %10s %9s %7s\n", "cipher", "per CPU s", "wall", "per CPU s", "wall",
              "ratio");
  for (const Case& c : cases) {
    Run mbed;
    if (c.mbedtls_too) {
      auto r = measure(TlsBackendKind::mbedtls, c.suite, cert.value(), total, pattern);
      if (!r.ok()) {
        std::fprintf(stderr, "mbedtls %s: %s\n", c.suite, r.error().message().c_str());
        return 1;
      }
      mbed = r.value();
    }
    auto o = measure(TlsBackendKind::openssl, c.suite, cert.value(), total, pattern);
    if (!o.ok()) {
      std::fprintf(stderr, "openssl %s: %s\n", c.suite, o.error().message().c_str());
      return 1;
    }
    if (o->suite != c.suite) {
      std::fprintf(stderr, "openssl negotiated %s, not %s\n", o->suite.c_str(), c.suite);
      return 1;
    }
    if (c.mbedtls_too) {
      std::printf("%-28s %10.0f %9.0f %10.0f %9.0f %6.1fx\n", c.label, mbed.mb_per_cpu_s,
                  mbed.mb_per_s, o->mb_per_cpu_s, o->mb_per_s, o->mb_per_cpu_s / mbed.mb_per_cpu_s);
    } else {
      std::printf("%-28s %10s %9s %10.0f %9.0f %7s\n", c.label, "-", "-", o->mb_per_cpu_s,
                  o->mb_per_s, "-");
    }
  }
  return 0;
}

}  // namespace
}  // namespace pvb

int main(int argc, char** argv) {
  const long mib = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 256;
  if (mib <= 0) {
    std::fprintf(stderr, "usage: %s [MiB per run, default 256]\n", argv[0]);
    return 2;
  }
  return pvb::run_all(static_cast<uint64_t>(mib));
}
