// Starts a mock-pveproxy for one test and runs pvebridge against it.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/platform.h"
#include "tests/integration/child_process.h"

namespace pvb::testing {

struct MockInfo {
  int port = 0;
  std::string fingerprint;
  std::string ca_file;
  std::string user;
  std::string password;
  std::string api_token;
  std::string totp_user;
  std::string totp_secret;
  int spice_proxy_port = 0;  // the mock's spiceproxy (Proxmox's 3128)
  // With --also-listen: every listening port, `port` first (else empty).
  std::vector<int> ports;
  std::string host() const { return "127.0.0.1:" + std::to_string(port); }
  // A pin that is not this certificate's: its fingerprint with another first byte. (Each mock
  // makes a new certificate: a fixed byte in its place would be the real one in 1 run of 256.)
  std::string other_fingerprint() const {
    return (fingerprint.compare(0, 2, "00") == 0 ? "01" : "00") + fingerprint.substr(2);
  }
  std::string host(size_t listener) const {
    return "127.0.0.1:" + std::to_string(listener < ports.size() ? ports[listener] : port);
  }
};

class MockPveproxy {
 public:
  // Extra flags for the mock (faults, timers). Fails the current test if it does not start.
  explicit MockPveproxy(std::vector<std::string> flags = {});
  // Closes the mock's stdin and waits for it to exit, so it removes its private directory (a
  // SIGKILL, the ChildProcess fallback, would leave it behind in /tmp).
  ~MockPveproxy();
  const MockInfo& info() const { return info_; }
  bool ok() const { return ok_; }
  ChildProcess& process() { return *proc_; }

 private:
  std::unique_ptr<ChildProcess> proc_;
  MockInfo info_;
  bool ok_ = false;
};

struct RunResult {
  int exit_code = -1;
  std::vector<std::string> out;  // stdout lines
  std::string err;
};

// Paths of the programs under test (from the build tree).
std::string pvebridge_path();
std::string test_viewer_path();

// An environment for pvebridge: PATH and HOME from ours, plus `extra`.
std::map<std::string, std::string> base_env(std::map<std::string, std::string> extra = {});

// Runs pvebridge to completion (bounded), stdin closed.
RunResult run_pvebridge(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env, int timeout_ms = 30000);
std::unique_ptr<ChildProcess> start_pvebridge(const std::vector<std::string>& args,
                                              const std::map<std::string, std::string>& env);

// A JSON member of a one-line JSON object, as text (strings unquoted); nullopt if absent.
std::optional<std::string> json_get(const std::string& line, const std::string& key);
// A nested member ("guest.name").
std::optional<std::string> json_path(const std::string& line, const std::string& path);

std::string read_file(const std::string& path);
bool file_exists(const std::string& path);

}  // namespace pvb::testing
