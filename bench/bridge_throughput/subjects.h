// The programs of a benchmark run and how to start them.
//
// Servers (started once, kept for the whole run): mock-pveproxy (the far end of the bridge and of
// the peers) and bench-far-end (plain, and TLS: the far end of the ceilings). Their TLS side uses
// the server backend (OpenSSL unless told otherwise: the far end must never be what limits a
// measurement), whatever backend the client side under test uses. Subjects (one process per
// measurement, like one `connect` per console): pvebridge, bench-relay (the ceilings' stand-in for
// the bridge), the Node and Python peers. Every subject listens on 127.0.0.1 and serves one local
// client; the harness is that client.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/bridge_throughput/api_probe.h"
#include "bench/bridge_throughput/child_process.h"
#include "engine/core/error.h"
#include "transports/tls/tls_config.h"

namespace pvb::bench {

struct ProgramPaths {
  std::string pvebridge;
  std::string mock;
  std::string relay;
  std::string far_end;
  std::string peers_dir;  // bench/peers
  std::string node;       // "" when not found
  std::string python = "/usr/bin/python3";
};

// rfb_source and rfb_echo speak RFB (transports/testing/bench_console.h): the far ends of the
// splice, which pvebridge serves without --passthrough.
enum class Guest { source, sink, echo, rfb_source, rfb_echo };
const char* guest_name(Guest g);
bool speaks_rfb(Guest g);

enum class PeerKind { node, python };
const char* peer_name(PeerKind p);

// A running subject: its process and the local port it serves.
struct Subject {
  std::unique_ptr<Child> child;
  uint16_t port = 0;
  std::string listening_line;  // the whole JSON line (cipher, guest, ...)
  double listening_at = 0;     // when it arrived (now_seconds())
  // Other lines read while waiting for the listening events (e.g. client_connected).
  std::vector<std::string> skipped_lines;
  // An RFB guest: the client does the viewer's handshake, with this password (the local one
  // from pvebridge's .vv when it splices; empty through --passthrough, where the bench console
  // offers None).
  bool rfb = false;
  std::string rfb_password;
};

// The long-lived servers and the knowledge of how to start subjects against them.
class BenchEnv {
 public:
  // Makes a private temporary directory: the children's (empty) configuration and cache.
  BenchEnv(ProgramPaths paths, TlsBackendKind server_backend);
  ~BenchEnv();
  BenchEnv(const BenchEnv&) = delete;
  BenchEnv& operator=(const BenchEnv&) = delete;

  const ProgramPaths& paths() const { return paths_; }

  // Servers; each started at most once, on first use.
  Result<MockServerInfo> mock();
  // Ports of source/sink/echo on the plain or the TLS far end, and its CA file.
  struct FarEnd {
    std::map<std::string, uint16_t> ports;
    std::string ca_file;
  };
  Result<FarEnd> far_end(bool tls);

  // `pvebridge connect GUEST... --no-viewer --json` against the mock; waits for `sessions`
  // listening events (the first one's port goes into Subject::port; each one is handed to
  // on_listening as it arrives, which may connect to it at once). Non-RFB guests always go
  // through --passthrough (they are byte sources and sinks); RFB guests only when `passthrough`.
  Result<Subject> start_pvebridge(TlsBackendKind backend, Guest guest, bool ticket_login = false,
                                  size_t sessions = 1,
                                  const std::function<Error(uint16_t)>& on_listening = {},
                                  double listen_timeout_s = 30, bool passthrough = true);
  // pvebridge with an RFB guest: splicing (the default flow) or --passthrough.
  Result<Subject> start_pvebridge_rfb(TlsBackendKind backend, Guest guest, bool splice) {
    return start_pvebridge(backend, guest, false, 1, {}, 30, !splice);
  }
  // bench-relay in front of a far end (plain TCP, or TLS with the `tls` backend on its side).
  Result<Subject> start_relay(std::optional<TlsBackendKind> tls, Guest guest);
  // A peer bridge against the mock (Errc::not_found when the peer is not available).
  Result<Subject> start_peer(PeerKind peer, Guest guest);
  // Empty when available, else why not ("node_modules/ws is not installed ...").
  std::string peer_unavailable(PeerKind peer);

 private:
  ProgramPaths paths_;
  TlsBackendKind server_backend_;
  std::string home_;
  std::optional<std::pair<std::unique_ptr<Child>, MockServerInfo>> mock_;
  std::map<bool, std::pair<std::unique_ptr<Child>, FarEnd>> far_ends_;  // by "TLS"?
  std::map<PeerKind, std::string> peer_checked_;
};

// Reads a subject's listening line ({"event":"listening",...,"port":N}).
Result<uint16_t> listening_port(const std::string& line);
// The password= of a .vv file (GKeyFile escapes undone).
Result<std::string> vv_password(const std::string& path);

}  // namespace pvb::bench
