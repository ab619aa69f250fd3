// One TLS connection per console, end to end: the real pvebridge against the real mock-pveproxy
// (which logs one line per TLS handshake it completes), a console from the password login to the
// WebSocket, directly and through test-connect-proxy; and the fallback to a fresh connection when
// the mock closes the kept one just as the upgrade arrives (fault close_reused).
#include <gtest/gtest.h>

#include "tests/integration/mock_fixture.h"

namespace pvb::testing {
namespace {

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class KeepAliveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = PrivateDir::create("pvb-keepalive-e2e");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string path(const std::string& name) const { return dir_->path() + "/" + name; }

  // `connect --no-viewer` with a password login (login, guest list, status, vncproxy, WebSocket),
  // then test-viewer through the bridge; true when the viewer saw web01's desktop and pvebridge
  // exited 0.
  void run_console(MockPveproxy& m, std::vector<std::string> extra = {},
                   const std::string& guest = "web01") {
    std::vector<std::string> a = {"connect", guest,           "--json",        "--no-viewer",
                                  "--host",  m.info().host(), "--fingerprint", m.info().fingerprint,
                                  "--user",  m.info().user,   "--verbose"};
    a.insert(a.end(), extra.begin(), extra.end());
    auto p = start_pvebridge(a, base_env({{"PVE_PASSWORD", m.info().password}}));
    auto listening = p->wait_for_line("\"listening\"", 20000);
    ASSERT_TRUE(listening) << p->stderr_text();
    std::string vv = json_get(*listening, "vv_file").value_or("");
    ChildProcess viewer({test_viewer_path(), vv},
                        base_env({{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}));
    EXPECT_EQ(viewer.wait(20000), 0);
    EXPECT_EQ(json_get(read_file(path("viewer.json")), "name"), guest);
    EXPECT_EQ(json_get(read_file(path("viewer.json")), "nonblank"), "true");
    EXPECT_EQ(p->wait(20000), 0) << p->stderr_text();
    bridge_err_ = p->stderr_text();
  }
  // Stops the mock and returns its whole log.
  static std::string mock_log(MockPveproxy& m) {
    m.process().close_stdin();
    EXPECT_TRUE(m.process().wait(10000).has_value());
    return m.process().stderr_text();
  }

  std::optional<PrivateDir> dir_;
  std::string bridge_err_;
};

TEST_F(KeepAliveTest, OneTlsHandshakeForTheWholeConsole) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  run_console(m);
  const std::string log = mock_log(m);
  EXPECT_EQ(count_of(log, "TLS handshake done"), 1u) << log;
  EXPECT_NE(log.find("POST /api2/json/access/ticket 200"), std::string::npos) << log;
  EXPECT_NE(log.find("/vncproxy 200"), std::string::npos) << log;
  EXPECT_NE(log.find("/vncwebsocket 101"), std::string::npos) << log;
  EXPECT_NE(bridge_err_.find("handed over"), std::string::npos) << bridge_err_;
}

// pveproxy's idle timeout fires just as the upgrade arrives: the mock closes the connection
// unanswered; the upgrade goes again on a fresh connection and the console works.
TEST_F(KeepAliveTest, AKeptConnectionClosedAsTheUpgradeArrivesFallsBackToANewOne) {
  MockPveproxy m({"--fault", "close_reused=vncwebsocket"});
  ASSERT_TRUE(m.ok());
  run_console(m);
  const std::string log = mock_log(m);
  EXPECT_EQ(count_of(log, "closed unanswered (fault close_reused)"), 1u) << log;
  EXPECT_EQ(count_of(log, "TLS handshake done"), 2u) << log;
  EXPECT_EQ(count_of(log, "/vncwebsocket 101"), 1u) << log;
}

// pveproxy closes a kept connection idle for its timeout: while `--start` waits between task polls
// (1 s) the mock closes each idle connection after 300 ms; every next call dials anew, and the
// console's WebSocket still takes the connection of the last call (vncproxy).
TEST_F(KeepAliveTest, ConnectionsTheServerTimedOutAreReplacedAndTheLastOneIsReused) {
  MockPveproxy m({"--start-delay-ms", "1500", "--keepalive-timeout-ms", "300"});
  ASSERT_TRUE(m.ok());
  run_console(m, {"--start"}, "db01");
  const std::string log = mock_log(m);
  const size_t idle_closes = count_of(log, "closed (keep-alive timeout)");
  EXPECT_GE(idle_closes, 1u) << log;
  EXPECT_EQ(count_of(log, "TLS handshake done"), 1 + idle_closes) << log;
  EXPECT_EQ(count_of(log, "/vncwebsocket 101"), 1u) << log;
}

}  // namespace
}  // namespace pvb::testing
