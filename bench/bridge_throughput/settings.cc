#include "bench/bridge_throughput/settings.h"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string_view>

#include "engine/core/json_writer.h"

namespace pvb::bench {

const char* const kUsage =
    R"(usage: bridge-throughput [--smoke] [--json FILE] [--only MODE,...] [options]
End-to-end benchmark of pvebridge: a local TCP client (this program) -> pvebridge -> wss ->
mock-pveproxy bench consoles, against ceilings taken in the same run (a plain TCP relay pair and a
bare TLS relay pair with the same processes and hops) and against the bridges people write (Node
ws, Python websockets). Prints a table; --json FILE also writes the results as JSON.
  --smoke                 every mode briefly (CI: seconds)
  --only MODES            comma list of: throughput, peers, latency, setup, memory, scale,
                          splice (pvebridge's RFB splice against --passthrough: rfb guests)
  --backends LIST         TLS backends to measure (default openssl,mbedtls)
  --server-backend NAME   the far ends' TLS backend (default openssl: never the bottleneck)
  --bytes N               bytes per transfer (default 1G; K, M, G suffixes)
  --repeat N              runs per throughput figure, median reported (default 3)
  --echo-count N          64-byte round trips per latency figure (default 20000)
  --setup-runs N          process starts per setup figure (default 10)
  --memory-bytes N        bytes read across the stalls of the memory mode (default 1G)
  --stalls N, --stall-seconds S   pauses of the client in the memory mode (default 3 x 1 s)
  --scale LIST            sessions per pvebridge process (default 1,10,100,1000)
  --scale-bytes N         bytes read from all sessions together (default 1G)
  --scale-backends LIST   (default openssl)
  --pvebridge, --mock, --relay, --far-end PATH   the programs (default: this build's)
  --peers-dir DIR         bench/peers (default: this source tree's)
  --node PATH, --python PATH   the peers' interpreters (default: node on PATH, /usr/bin/python3)
Exit status: 0 when every measurement ran and checked its bytes (missed targets are reported, not
failed), 1 when one failed, 2 for bad arguments.
)";

namespace {

Result<uint64_t> parse_size(std::string_view v) {
  uint64_t mult = 1;
  if (!v.empty()) {
    switch (v.back()) {
      case 'K':
      case 'k':
        mult = 1ull << 10;
        break;
      case 'M':
      case 'm':
        mult = 1ull << 20;
        break;
      case 'G':
      case 'g':
        mult = 1ull << 30;
        break;
      default:
        break;
    }
    if (mult != 1) v.remove_suffix(1);
  }
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n == 0) {
    return Error(Errc::usage, "not a size: '" + std::string(v) + "'");
  }
  return n * mult;
}

Result<double> parse_seconds(std::string_view v) {
  char* end = nullptr;
  std::string s(v);
  double d = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || d < 0) {
    return Error(Errc::usage, "not a number of seconds: '" + s + "'");
  }
  return d;
}

std::vector<std::string> split(std::string_view v, char separator = ',') {
  std::vector<std::string> out;
  while (!v.empty()) {
    auto comma = v.find(separator);
    if (comma != 0) out.emplace_back(v.substr(0, comma));
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

Result<std::vector<TlsBackendKind>> parse_backends(std::string_view v) {
  std::vector<TlsBackendKind> out;
  for (const std::string& name : split(v)) {
    auto b = parse_tls_backend(name);
    if (!b) return Error(Errc::usage, "unknown TLS backend '" + name + "'");
    out.push_back(*b);
  }
  if (out.empty()) return Error(Errc::usage, "no TLS backend named");
  return out;
}

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (const std::string& dir : split(p, ':')) {
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace

Result<Settings> parse_settings(int argc, char** argv, bool& help) {
  Settings s;
  s.paths.pvebridge = PVB_BENCH_PVEBRIDGE;
  s.paths.mock = PVB_BENCH_MOCK;
  s.paths.relay = PVB_BENCH_RELAY;
  s.paths.far_end = PVB_BENCH_FAR_END;
  s.paths.peers_dir = PVB_BENCH_PEERS_DIR;
  s.paths.node = find_on_path("node");
  // First pass: --smoke changes the defaults the other flags override.
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--smoke") {
      s.smoke = true;
      s.bytes = 16ull << 20;
      s.repeat = 1;
      s.echo_count = 200;
      s.setup_runs = 2;
      s.memory_bytes = 32ull << 20;
      s.stalls = 2;
      s.stall_seconds = 0.2;
      s.scale_sessions = {1, 10};
      s.scale_bytes = 16ull << 20;
    }
  }
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--smoke") continue;
    if (arg == "--help" || arg == "-h") {
      help = true;
      return s;
    }
    if (i + 1 >= argc) return Error(Errc::usage, arg + " needs a value (see --help)");
    const std::string v = argv[++i];
    auto set_size = [&](uint64_t& into) -> Error {
      auto n = parse_size(v);
      if (!n.ok()) return Error(Errc::usage, arg + ": " + n.error().message());
      into = *n;
      return Error();
    };
    Error e;
    if (arg == "--json") {
      s.json_path = v;
    } else if (arg == "--only") {
      s.modes.clear();
      for (const std::string& m : split(v)) {
        if (m != "throughput" && m != "peers" && m != "latency" && m != "setup" && m != "memory" &&
            m != "scale" && m != "splice") {
          return Error(Errc::usage, "--only: unknown mode '" + m + "'");
        }
        s.modes.insert(m);
      }
    } else if (arg == "--backends" || arg == "--scale-backends") {
      auto b = parse_backends(v);
      if (!b.ok()) return Error(Errc::usage, arg + ": " + b.error().message());
      (arg == "--backends" ? s.backends : s.scale_backends) = *b;
    } else if (arg == "--server-backend") {
      auto b = parse_tls_backend(v);
      if (!b) return Error(Errc::usage, "--server-backend: unknown TLS backend '" + v + "'");
      s.server_backend = *b;
    } else if (arg == "--bytes") {
      e = set_size(s.bytes);
    } else if (arg == "--memory-bytes") {
      e = set_size(s.memory_bytes);
    } else if (arg == "--scale-bytes") {
      e = set_size(s.scale_bytes);
    } else if (arg == "--repeat" || arg == "--echo-count" || arg == "--setup-runs" ||
               arg == "--stalls") {
      uint64_t n = 0;
      e = set_size(n);
      if (arg == "--repeat") s.repeat = static_cast<int>(n);
      if (arg == "--echo-count") s.echo_count = n;
      if (arg == "--setup-runs") s.setup_runs = n;
      if (arg == "--stalls") s.stalls = static_cast<int>(n);
    } else if (arg == "--stall-seconds") {
      auto d = parse_seconds(v);
      if (!d.ok()) return d.error();
      s.stall_seconds = *d;
    } else if (arg == "--scale") {
      s.scale_sessions.clear();
      for (const std::string& n : split(v)) {
        auto k = parse_size(n);
        if (!k.ok()) return Error(Errc::usage, "--scale: " + k.error().message());
        s.scale_sessions.push_back(*k);
      }
    } else if (arg == "--pvebridge") {
      s.paths.pvebridge = v;
    } else if (arg == "--mock") {
      s.paths.mock = v;
    } else if (arg == "--relay") {
      s.paths.relay = v;
    } else if (arg == "--far-end") {
      s.paths.far_end = v;
    } else if (arg == "--peers-dir") {
      s.paths.peers_dir = v;
    } else if (arg == "--node") {
      s.paths.node = v;
    } else if (arg == "--python") {
      s.paths.python = v;
    } else {
      return Error(Errc::usage, "unknown argument '" + arg + "' (see --help)");
    }
    if (e.failed()) return e;
  }
  return s;
}

std::string Settings::json() const {
  JsonWriter w;
  w.begin_object();
  w.key("smoke").value(smoke).key("bytes").value(bytes).key("repeat").value(repeat);
  w.key("server_backend").value(tls_backend_name(server_backend));
  w.key("echo_count").value(static_cast<uint64_t>(echo_count));
  w.key("setup_runs").value(static_cast<uint64_t>(setup_runs));
  w.key("memory_bytes").value(memory_bytes).key("stalls").value(stalls);
  w.key("stall_seconds").value(stall_seconds);
  w.key("scale_sessions").begin_array();
  for (size_t n : scale_sessions) w.value(static_cast<uint64_t>(n));
  w.end_array();
  w.key("scale_bytes").value(scale_bytes);
  w.end_object();
  return w.take();
}

}  // namespace pvb::bench
