// Reconnect end to end (issue 14): the real pvebridge (`connect --no-viewer --json`) against the
// real mock-pveproxy cutting the console WebSocket (fault cut_ws: a Close or a TCP reset, down or
// up, at fixed or random offsets), with test-viewer asking for whole screens one after the other
// through the cuts. The viewer must get every screen, pvebridge must report each reconnect and
// exit 0 when the viewer leaves; with --reconnect 0 the first cut ends it as before.
#include <gtest/gtest.h>

#include "tests/integration/fault_helpers.h"

namespace pvb::testing {
namespace {

class ReconnectTest : public FaultTest {
 protected:
  struct Run {
    int bridge_exit = -1;
    int viewer_exit = -1;
    std::vector<std::string> events;  // --json lines
    std::string err;
  };
  // Screens: 1 + `updates` whole 640x480 screens (1.2 MB each in Raw) through the bridge.
  Run run(MockPveproxy& m, int updates, std::vector<std::string> extra = {}) {
    Run r;
    std::vector<std::string> a = {"connect", "web01", "--json", "--no-viewer", "--verbose"};
    a.insert(a.end(), extra.begin(), extra.end());
    auto p = start_pvebridge(args(m, a), token_env(m));
    auto listening = p->wait_for_line("\"listening\"", 20000);
    EXPECT_TRUE(listening) << p->stderr_text();
    if (!listening) return r;
    std::string vv = json_get(*listening, "vv_file").value_or("");
    ChildProcess v({test_viewer_path(), vv, "--updates", std::to_string(updates)},
                   base_env({{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}));
    r.viewer_exit = v.wait(60000).value_or(-1);
    r.bridge_exit = p->wait(30000).value_or(-1);
    r.events = p->stdout_lines();
    r.err = p->stderr_text();
    return r;
  }
  static int count(const std::vector<std::string>& lines, const std::string& event) {
    int n = 0;
    for (const std::string& l : lines) n += l.find("\"event\":\"" + event + "\"") != l.npos;
    return n;
  }
  static std::string closed_line(const std::vector<std::string>& lines) {
    for (const std::string& l : lines) {
      if (l.find("\"event\":\"closed\"") != l.npos) return l;
    }
    return "";
  }
};

TEST_F(ReconnectTest, TheViewerGetsEveryScreenThroughCutsOfEveryKind) {
  for (const char* fault : {"cut_ws=down:2000000", "cut_ws=down:2000000,rst", "cut_ws=up:80,rst",
                            "cut_ws=random:4000000,rst,times=3", "cut_ws=random:4000000,times=3"}) {
    SCOPED_TRACE(fault);
    MockPveproxy m({"--fault", fault});
    ASSERT_TRUE(m.ok());
    Run r = run(m, 6);
    EXPECT_EQ(r.viewer_exit, 0);
    EXPECT_EQ(json_get(report(), "updates"), "6") << report() << "\n" << r.err;
    EXPECT_EQ(json_get(report(), "nonblank"), "true") << report();
    EXPECT_EQ(r.bridge_exit, 0) << r.err;
    EXPECT_GE(count(r.events, "reconnecting"), 1) << r.err;
    EXPECT_GE(count(r.events, "reconnected"), 1) << r.err;
    EXPECT_EQ(json_get(closed_line(r.events), "reason"), "client_closed") << r.err;
    EXPECT_EQ(json_get(closed_line(r.events), "reconnects"),
              std::to_string(count(r.events, "reconnected")));
  }
}

TEST_F(ReconnectTest, HumanOutputSaysItOnce) {
  MockPveproxy m({"--fault", "cut_ws=down:2000000"});
  ASSERT_TRUE(m.ok());
  auto p = start_pvebridge(args(m, {"connect", "web01", "--no-viewer", "--vv-file", path("c.vv")}),
                           token_env(m));
  ASSERT_TRUE(wait_for_file(*p, path("c.vv")));
  ChildProcess v({test_viewer_path(), path("c.vv"), "--updates", "3"},
                 base_env({{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}));
  EXPECT_EQ(v.wait(60000), 0);
  EXPECT_EQ(p->wait(30000), 0) << p->stderr_text();
  const std::string err = p->stderr_text();
  EXPECT_NE(err.find("connection to 127.0.0.1 lost ("), std::string::npos) << err;
  EXPECT_NE(err.find("reconnecting"), std::string::npos) << err;
  EXPECT_NE(err.find("reconnected after "), std::string::npos) << err;
}

TEST_F(ReconnectTest, WithReconnectOffTheFirstCutEndsTheSession) {
  MockPveproxy m({"--fault", "cut_ws=down:2000000,rst"});
  ASSERT_TRUE(m.ok());
  Run r = run(m, 6, {"--reconnect", "0"});
  EXPECT_EQ(r.bridge_exit, 7) << r.err;
  EXPECT_EQ(count(r.events, "reconnecting"), 0);
  EXPECT_NE(json_get(report(), "updates"), "6") << report();
}

TEST_F(ReconnectTest, RefusedTicketsAreRetriedWithBackoff) {
  MockPveproxy m({"--fault", "cut_ws=down:2000000,rst", "--fault", "refuse_vncproxy=2"});
  ASSERT_TRUE(m.ok());
  Run r = run(m, 4);
  EXPECT_EQ(r.bridge_exit, 0) << r.err;
  EXPECT_EQ(json_get(report(), "updates"), "4") << report();
  EXPECT_EQ(count(r.events, "reconnecting"), 3) << r.err;  // two 503s, then the ticket
  EXPECT_EQ(count(r.events, "reconnected"), 1) << r.err;
}

}  // namespace
}  // namespace pvb::testing
