// Shared by the fault tests (fault_*_test.cc): run pvebridge under a bound and keep what it said,
// the one line a user reads, the children's peak memory, local sockets that misbehave (a
// blackhole, a server that never speaks, a viewer that stops reading), and the observation log
// FAULTS.md is made from ($PVB_FAULTS_OBSERVED).
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/platform.h"
#include "tests/integration/mock_fixture.h"

namespace pvb::testing {

// Every fault must end pvebridge well within this (the fixture's time bound).
inline constexpr int kFaultBoundMs = 20000;
// The peak resident memory every process a fault test started must stay under (not checked under
// sanitizers, whose shadow memory and quarantine dwarf it).
inline constexpr int64_t kMemoryBoundKib = 64 * 1024;

struct Outcome {
  int exit_code = -1;
  std::vector<std::string> out;
  std::string err;
  int64_t elapsed_ms = 0;
  // The line a user reads: pvebridge's last "error:" line, else its last "console closed:" line,
  // else the last line of stderr (without the "pvebridge: " prefix); with --json, the error
  // event's message, else the closed event's reason.
  std::string line() const;
};

// Runs pvebridge (stdin closed) and waits for its exit; a run over bound_ms fails the test.
Outcome run_bounded(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env, int bound_ms = kFaultBoundMs);
// The same for a pvebridge started earlier (a ChildProcess), timed from `started_ms`.
Outcome finish_bounded(ChildProcess& p, int64_t started_ms, int bound_ms = kFaultBoundMs);
int64_t now_ms();

// Appends "name | how | exit | line | elapsed" to $PVB_FAULTS_OBSERVED, when set.
void record(const std::string& name, const std::string& how, const Outcome& o);

// The largest peak resident set (KiB) of the children waited for so far (getrusage).
int64_t children_peak_rss_kib();
// VmHWM / VmRSS of a running process, KiB; -1 when unreadable.
int64_t process_status_kib(pid_t pid, const char* field);
// Checks the children's peak memory against kMemoryBoundKib (skipped under sanitizers).
void expect_bounded_children_memory();

// True once nothing is left in the process group `pgid` (pvebridge leads its own group: the
// viewer it started is in it).
bool process_group_gone(pid_t pgid);

// Pumps `p`'s pipes until its stderr contains `needle`; false if it exited or timed out first.
bool wait_for_stderr(ChildProcess& p, const std::string& needle, int timeout_ms = 15000);
// Waits for a file another process creates, pumping `p`'s pipes meanwhile; false if `p` exited
// or the time ran out first.
bool wait_for_file(ChildProcess& p, const std::string& path, int timeout_ms = 15000);
// The first stdout line holding `needle`, among those read so far (or waits for one).
std::optional<std::string> find_line(ChildProcess& p, const std::string& needle,
                                     int timeout_ms = 15000);

// A loopback listener whose accept queue is full: connects to it hang (SYNs are dropped).
class Blackhole {
 public:
  Blackhole();
  ~Blackhole();
  int port() const { return port_; }

 private:
  int listener_ = -1;
  int filler_ = -1;  // the one connection the accept queue holds
  int port_ = 0;
};

// A loopback listener nobody accepts from: TCP connects, then nothing is ever said.
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  int port() const { return port_; }

 private:
  int listener_ = -1;
  int port_ = 0;
};

// A plain blocking TCP client for the local side (a viewer that reads when told to).
class LocalClient {
 public:
  explicit LocalClient(int port);
  ~LocalClient();
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Reads up to n bytes, waiting at most timeout_ms; 0 on end of stream, -1 on error/timeout.
  ssize_t read_some(uint8_t* buf, size_t n, int timeout_ms = 10000);
  // Bytes waiting in our receive queue (what the bridge sent that we have not read).
  int queued() const;
  void close();

 private:
  int fd_ = -1;
};

// Token auth pinned to the mock's certificate, a private directory, and the test-viewer.
class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override;
  std::string path(const std::string& name) const { return dir_->path() + "/" + name; }
  std::vector<std::string> args(const MockPveproxy& m, std::vector<std::string> extra) const;
  std::map<std::string, std::string> token_env(const MockPveproxy& m,
                                               std::map<std::string, std::string> extra = {});
  // --viewer test-viewer, its report in path("viewer.json"), and these flags for it.
  std::vector<std::string> viewer(std::vector<std::string> viewer_flags = {}) const;
  std::string report() const { return read_file(path("viewer.json")); }

  std::optional<PrivateDir> dir_;
};

}  // namespace pvb::testing
