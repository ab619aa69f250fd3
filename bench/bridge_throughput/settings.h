// The harness's command line: which programs, which modes, how much data.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "bench/bridge_throughput/subjects.h"
#include "engine/core/error.h"

namespace pvb::bench {

struct Settings {
  bool smoke = false;
  ProgramPaths paths;
  std::string json_path;  // --json FILE
  std::set<std::string> modes = {"throughput", "peers", "latency", "setup",
                                 "memory",     "scale", "splice"};
  std::vector<TlsBackendKind> backends = {TlsBackendKind::openssl, TlsBackendKind::mbedtls};
  // The TLS backend of the far ends (mock-pveproxy, bench-far-end): the fast one, so that the
  // client side under test is what limits every measurement.
  TlsBackendKind server_backend = TlsBackendKind::openssl;
  uint64_t bytes = 1ull << 30;  // per transfer
  int repeat = 3;               // throughput runs per figure (the median is reported)
  size_t echo_count = 20000;
  size_t setup_runs = 10;
  uint64_t memory_bytes = 1ull << 30;
  int stalls = 3;
  double stall_seconds = 1.0;
  std::vector<size_t> scale_sessions = {1, 10, 100, 1000};
  uint64_t scale_bytes = 1ull << 30;  // all sessions together
  std::vector<TlsBackendKind> scale_backends = {TlsBackendKind::openssl};

  // The settings as a JSON object, for the --json results.
  std::string json() const;
};

extern const char* const kUsage;

// --help sets `help`. Errc::usage with a message for anything wrong.
Result<Settings> parse_settings(int argc, char** argv, bool& help);

}  // namespace pvb::bench
