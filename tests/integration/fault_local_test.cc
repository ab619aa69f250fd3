// The local side through the real programs: a viewer that stops reading while the guest streams
// (memory stays bounded, then nothing is lost), one that disconnects in the middle of an update
// (the console WebSocket is closed with a Close frame), a second local client (refused, the first
// one unharmed), and a viewer that crashes.
#include <poll.h>

#include <algorithm>
#include <vector>

#include "tests/integration/fault_helpers.h"

namespace pvb::testing {
namespace {

class LocalFault : public FaultTest {};

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// Reads `total` bytes of the source guest's stream (byte i is i mod 256, from `offset`); returns
// the offset of the first wrong byte, or -1 when all were right. Fails the test on a short read.
int64_t read_pattern(LocalClient& client, uint64_t offset, uint64_t total) {
  std::vector<uint8_t> buf(256 * 1024);
  uint64_t done = 0;
  while (done < total) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), total - done));
    ssize_t n = client.read_some(buf.data(), want);
    if (n <= 0) {
      ADD_FAILURE() << "the stream ended after " << done << " of " << total << " bytes";
      return static_cast<int64_t>(offset + done);
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[static_cast<size_t>(i)] != static_cast<uint8_t>((offset + done + i) & 0xFF)) {
        return static_cast<int64_t>(offset + done + i);
      }
    }
    done += static_cast<uint64_t>(n);
  }
  return -1;
}

TEST_F(LocalFault, ViewerThatStopsReadingCostsBoundedMemoryAndLosesNothing) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  const int64_t start = now_ms();
  std::unique_ptr<ChildProcess> p = start_pvebridge(
      args(m, {"connect", "source", "--no-viewer", "--json", "--passthrough"}), token_env(m));
  std::optional<std::string> listening = find_line(*p, "\"listening\"");
  ASSERT_TRUE(listening) << p->stderr_text();
  LocalClient client(std::stoi(json_get(*listening, "port").value_or("0")));
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(find_line(*p, "client_connected"));

  // The fault: for one second the viewer reads nothing while the guest streams as fast as it
  // can (gigabytes per second, were nothing holding it back). Memory is sampled meanwhile.
  int64_t stalled_peak = 0;
  for (int i = 0; i < 10; ++i) {
    poll(nullptr, 0, 100);
    stalled_peak = std::max(stalled_peak, process_status_kib(p->pid(), "VmRSS"));
  }
  const int queued = client.queued();
  EXPECT_GT(queued, 0) << "the stream had started";
  EXPECT_FALSE(p->wait(0).has_value()) << p->stderr_text();

  // Resumed: 256 MiB, every byte where it belongs.
  constexpr uint64_t kResumeBytes = 256ull * 1024 * 1024;
  EXPECT_EQ(read_pattern(client, 0, kResumeBytes), -1) << "a byte was lost or changed";
  const int64_t hwm = process_status_kib(p->pid(), "VmHWM");
  client.close();
  Outcome o = finish_bounded(*p, start);
  record("viewer never reads, then resumes",
         "--no-viewer, client stalls 1 s on the source guest, then reads 256 MiB", o);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  uint64_t from_guest = 0;
  for (const std::string& l : o.out) {
    if (json_get(l, "event") == "closed") {
      EXPECT_EQ(json_get(l, "reason"), "client_closed");
      from_guest = std::stoull(json_get(l, "bytes_from_guest").value_or("0"));
    }
  }
  EXPECT_GE(from_guest, kResumeBytes);
  GTEST_LOG_(INFO) << "pvebridge: " << stalled_peak << " KiB resident while stalled (" << queued
                   << " bytes queued at the viewer), peak " << hwm << " KiB after "
                   << (from_guest >> 20) << " MiB";
#ifndef PVB_SANITIZED
  EXPECT_GT(hwm, 0);
  EXPECT_LT(hwm, kMemoryBoundKib);
  EXPECT_LT(stalled_peak, kMemoryBoundKib);
#endif
}

TEST_F(LocalFault, ViewerDisconnectingMidUpdateClosesTheWebsocketCleanly) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  // The 640x480 picture is 1.2 MB: the viewer hangs up 300 kB into it.
  std::vector<std::string> a = args(m, {"connect", "web01"});
  for (const std::string& v : viewer({"--disconnect-after", "300000"})) a.push_back(v);
  Outcome o = run_bounded(a, token_env(m));
  record("viewer disconnects mid-update", "test-viewer --disconnect-after 300000", o);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(contains(report(), "before the first screen update")) << report();
  // The server saw our Close frame, not a torn connection.
  EXPECT_TRUE(wait_for_stderr(m.process(), "client Close 1000")) << m.process().stderr_text();
  EXPECT_FALSE(contains(m.process().stderr_text(), "no Close frame"));
}

TEST_F(LocalFault, CrashingViewerExitsNineAndClosesTheWebsocket) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  std::vector<std::string> a = args(m, {"connect", "web01", "--json"});
  for (const std::string& v : viewer({"--crash"})) a.push_back(v);
  const int64_t start = now_ms();
  std::unique_ptr<ChildProcess> p = start_pvebridge(a, token_env(m));
  Outcome o = finish_bounded(*p, start);
  record("viewer crashes (SIGKILL after its first screen)", "test-viewer --crash", o);
  EXPECT_EQ(o.exit_code, 9) << o.err;
  EXPECT_TRUE(contains(report(), "\"crashing\":true")) << report();
  std::string vv;
  bool exited_137 = false;
  for (const std::string& l : o.out) {
    if (json_get(l, "event") == "viewer_exited") exited_137 = json_get(l, "code") == "137";
    if (json_get(l, "event") == "listening") vv = json_get(l, "vv_file").value_or("");
  }
  EXPECT_TRUE(exited_137) << ::testing::PrintToString(o.out);
  EXPECT_FALSE(vv.empty());
  EXPECT_FALSE(file_exists(vv));
  EXPECT_TRUE(process_group_gone(p->pid()));
  EXPECT_TRUE(wait_for_stderr(m.process(), "client Close 1000")) << m.process().stderr_text();
}

TEST_F(LocalFault, SecondLocalClientIsRefusedAndTheFirstStreamsOn) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  const int64_t start = now_ms();
  std::unique_ptr<ChildProcess> p = start_pvebridge(
      args(m, {"connect", "source", "--no-viewer", "--json", "--passthrough"}), token_env(m));
  std::optional<std::string> listening = find_line(*p, "\"listening\"");
  ASSERT_TRUE(listening) << p->stderr_text();
  const int port = std::stoi(json_get(*listening, "port").value_or("0"));
  LocalClient first(port);
  ASSERT_TRUE(first.connected());
  ASSERT_TRUE(find_line(*p, "client_connected"));
  ASSERT_EQ(read_pattern(first, 0, 1024 * 1024), -1);
  // The listener is closed once the first client is in: the second is refused outright.
  LocalClient second(port);
  uint8_t buf[16];
  if (second.connected()) {
    EXPECT_LE(second.read_some(buf, sizeof buf), 0);
  }
  EXPECT_EQ(read_pattern(first, 1024 * 1024, 4 * 1024 * 1024), -1);
  first.close();
  Outcome o = finish_bounded(*p, start);
  record("second local client", "a second TCP connection while the first streams", o);
  EXPECT_EQ(o.exit_code, 0) << o.err;
}

}  // namespace
}  // namespace pvb::testing
