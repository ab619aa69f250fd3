// ConsoleSession in process: vncproxy and the console WebSocket through the engine's Dialer to the
// mock pveproxy on MemPipes (its fake VM speaks real RFB), the local side through a fake
// ListenerFactory whose client is a MemPipe end driven by the test RFB client. No socket, no
// viewer process.
#include <gtest/gtest.h>

#include <optional>

#include "engine/console/console_session.h"
#include "engine/core/platform.h"
#include "tests/engine/seams/in_process_rig.h"
#include "tests/fake_vm/rfb_client.h"
#include "transports/testing/mem_pipe.h"

namespace pvb::seams {
namespace {

struct Events : ConsoleObserver {
  std::optional<ListeningInfo> listening;
  int connected = 0;
  int closed_clients = 0;
  int auth_failures = 0;
  std::vector<std::string> refused;
  std::vector<std::string> log;
  std::optional<SessionEnd> end;
  void on_listening(int, const ListeningInfo& i) override { listening = i; }
  void on_client_connected(int, int) override { ++connected; }
  void on_client_closed(int, int, const ClientEnd&) override { ++closed_clients; }
  void on_local_auth_failed(int, int, std::string_view) override { ++auth_failures; }
  void on_log(int, std::string_view line) override { log.emplace_back(line); }
  void on_client_refused(int, std::string_view why) override { refused.emplace_back(why); }
  void on_viewer_exited(int, int, std::string_view) override {}
  void on_closed(int, const SessionEnd& e) override { end = e; }
};

// The password the .vv file hands the viewer.
std::string vv_password(const std::string& path) {
  return vv_value(path, "password");
}

class ConsoleSessionInProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = cluster_.client();
    std::optional<Error> connected;
    client_->connect([&](Error e) { connected = e; });
    ASSERT_TRUE(cluster_.loop().run_until([&] { return connected.has_value(); }));
    ASSERT_TRUE(connected->ok()) << connected->message();
    web01_.node = "pve1";
    web01_.vmid = 100;
    web01_.name = "web01";
    web01_.status = "running";
    ConsoleOptions o;
    o.launch_viewer = false;
    o.keepalive_ms = 0;
    session_ = std::make_unique<ConsoleSession>(cluster_.loop(), 1, *client_, listeners_, web01_, o,
                                                events_);
    session_->start();
    ASSERT_TRUE(cluster_.loop().run_until([&] { return events_.listening.has_value(); }));
    ASSERT_TRUE(events_.listening->vv_file.has_value());
  }

  // Hands the session a local client of user `uid`; returns the test's end of it.
  std::unique_ptr<Transport> accept_client(std::optional<uint32_t> uid) {
    auto [local, remote] = make_mem_pipe(cluster_.loop());
    AcceptedClient c;
    c.transport = std::move(remote);
    c.peer = "in-process";
    c.peer_uid = uid;
    listeners_.last()->on_accept(std::move(c));
    return std::move(local);
  }

  InProcessCluster cluster_;
  FakeListeners listeners_;
  Events events_;
  Guest web01_;
  std::unique_ptr<ProxmoxClient> client_;
  std::unique_ptr<ConsoleSession> session_;
};

TEST_F(ConsoleSessionInProcess, AViewerGetsTheGuestsScreenThenClosing) {
  auto local = accept_client(current_user_id());
  std::optional<Result<RfbSnapshot>> screen;
  RfbClientOptions o;
  o.password = vv_password(*events_.listening->vv_file);
  ASSERT_FALSE(o.password.empty());
  RfbTestClient viewer(std::move(local), o, [&](Result<RfbSnapshot> s) { screen = std::move(s); });
  viewer.start();
  ASSERT_TRUE(cluster_.loop().run_until([&] { return screen.has_value(); }));
  ASSERT_TRUE(screen->ok()) << screen->error().message();
  EXPECT_GT(screen->value().width, 0);
  EXPECT_GT(screen->value().height, 0);
  EXPECT_NE(screen->value().name.find("web01"), std::string::npos) << screen->value().name;
  EXPECT_EQ(events_.connected, 1);
  // connect serves one client at a time: a second one is refused while the first is there.
  auto second = accept_client(current_user_id());
  ASSERT_EQ(events_.refused.size(), 1u);
  EXPECT_NE(events_.refused[0].find("already connected"), std::string::npos) << events_.refused[0];

  viewer.close();
  ASSERT_TRUE(cluster_.loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reason, CloseReason::client_closed);
  EXPECT_GT(events_.end->bytes_from_guest, 0u);
  EXPECT_GT(events_.end->bytes_to_guest, 0u);
}

TEST_F(ConsoleSessionInProcess, AnotherUsersClientIsRefusedAndTheViewerStillGetsIn) {
  auto intruder = accept_client(current_user_id() + 1);
  auto unknown = accept_client(std::nullopt);
  ASSERT_EQ(events_.refused.size(), 2u);
  EXPECT_NE(events_.refused[0].find("user id"), std::string::npos) << events_.refused[0];
  EXPECT_NE(events_.refused[1].find("unknown user"), std::string::npos) << events_.refused[1];
  EXPECT_EQ(events_.connected, 0);
  EXPECT_FALSE(listeners_.last()->closed);

  auto local = accept_client(current_user_id());
  std::optional<Result<RfbSnapshot>> screen;
  RfbClientOptions o;
  o.password = vv_password(*events_.listening->vv_file);
  RfbTestClient viewer(std::move(local), o, [&](Result<RfbSnapshot> s) { screen = std::move(s); });
  viewer.start();
  ASSERT_TRUE(cluster_.loop().run_until([&] { return screen.has_value(); }));
  ASSERT_TRUE(screen->ok()) << screen->error().message();
  EXPECT_EQ(events_.connected, 1);
  session_->interrupt(SIGTERM);
  ASSERT_TRUE(cluster_.loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reason, CloseReason::interrupted);
}

}  // namespace
}  // namespace pvb::seams
