// Reconnect in process (issue 14): a console whose WebSocket is cut while the viewer stays. The
// mock pveproxy and its fake VM on MemPipes, the cut by a FaultInjector on the connection that
// carries the console, the viewer the test RFB client (Raw): its parser must stay in step through
// the cut, the session must resume on a new ticket, and end when it cannot.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
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
  std::vector<int> attempts;  // of each on_reconnecting
  std::vector<std::string> reasons;
  int reconnected = 0;
  int reconnected_attempts = 0;
  std::vector<std::string> log;
  std::optional<SessionEnd> end;
  void on_listening(int, const ListeningInfo& i) override { listening = i; }
  void on_client_connected(int, int) override { ++connected; }
  void on_log(int, std::string_view line) override {
    log.emplace_back(line);
    if (getenv("PVB_TEST_LOG") != nullptr) fprintf(stderr, "log: %s\n", log.back().c_str());
  }
  void on_viewer_exited(int, int, std::string_view) override {}
  void on_reconnecting(int, int, int attempt, const Error& reason, std::string_view) override {
    attempts.push_back(attempt);
    reasons.push_back(reason.message());
  }
  void on_reconnected(int, int, int n, uint64_t) override {
    ++reconnected;
    reconnected_attempts = n;
  }
  void on_closed(int, const SessionEnd& e) override { end = e; }
  std::string all_log() const {
    std::string s;
    for (const auto& l : log) s += l + "\n";
    return s;
  }
};

// The password the .vv file hands the viewer.
std::string vv_password(const std::string& path) {
  return vv_value(path, "password");
}

// A full 640x480 Raw screen is 1.2 MB: a cut at this offset of the first connection (the API's,
// which the console WebSocket rides) lands inside the first update.
constexpr size_t kInsideFirstUpdate = 400000;
// ... and this one inside the third (the first screen plus two asked for).
constexpr size_t kInsideThirdUpdate = 3000000;

class ReconnectInProcess : public ::testing::Test {
 protected:
  // The mock's faults (mock_options.h), set before open().
  std::vector<std::string> faults_;
  InProcessCluster& cluster() {
    if (!cluster_holder_) {
      mock::MockOptions o;
      for (const std::string& f : faults_) EXPECT_TRUE(o.add_fault(f).ok()) << f;
      cluster_holder_ = std::make_unique<InProcessCluster>(std::move(o));
    }
    return *cluster_holder_;
  }

  // cut_at 0: no cut by the client side's connection (the mock's faults may cut).
  void open(size_t cut_at, bool password_login = false, uint64_t reconnect_ms = 60000,
            uint64_t keepalive_ms = 0) {
    cluster().fault_for = [cut_at](size_t n) -> std::optional<FaultPlan> {
      if (n != 1 || cut_at == 0) return std::nullopt;
      FaultPlan p;
      p.reset_after_read = cut_at;
      return p;
    };
    client_ = password_login ? cluster().password_client() : cluster().client();
    std::optional<Error> connected;
    client_->connect([&](Error e) { connected = e; });
    ASSERT_TRUE(cluster().loop().run_until([&] { return connected.has_value(); }));
    ASSERT_TRUE(connected->ok()) << connected->message();
    Guest g;
    g.node = "pve1";
    g.vmid = 100;
    g.name = "web01";
    g.status = "running";
    ConsoleOptions o;
    o.launch_viewer = false;
    o.keepalive_ms = keepalive_ms;
    o.reconnect_ms = reconnect_ms;
    session_ =
        std::make_unique<ConsoleSession>(cluster().loop(), 1, *client_, listeners_, g, o, events_);
    session_->start();
    ASSERT_TRUE(cluster().loop().run_until([&] { return events_.listening.has_value(); }));
    auto [local, remote] = make_mem_pipe(cluster().loop());
    AcceptedClient c;
    c.transport = std::move(remote);
    c.peer = "in-process";
    c.peer_uid = current_user_id();
    listeners_.last()->on_accept(std::move(c));
    RfbClientOptions ro;
    ro.password = vv_password(*events_.listening->vv_file);
    viewer_ = std::make_unique<RfbTestClient>(
        std::move(local), ro, [this](Result<RfbSnapshot> s) { screen_ = std::move(s); });
    viewer_->set_on_closed([this](const Error& e) { viewer_closed_ = e; });
    viewer_->start();
    ASSERT_TRUE(cluster().loop().run_until([&] { return screen_.has_value(); }));
    ASSERT_TRUE(screen_->ok()) << screen_->error().message() << "\n" << events_.all_log();
  }

  // Asks for a whole screen and runs until it arrived (or the session ended).
  bool one_more_update() {
    const uint64_t before = viewer_->updates_received();
    if (!viewer_->request_update(false)) return false;
    return cluster().loop().run_until([&] {
      return viewer_->updates_received() > before || events_.end.has_value();
    }) && !events_.end.has_value();
  }

  std::unique_ptr<InProcessCluster> cluster_holder_;
  FakeListeners listeners_;
  Events events_;
  std::unique_ptr<ProxmoxClient> client_;
  std::unique_ptr<ConsoleSession> session_;
  std::unique_ptr<RfbTestClient> viewer_;
  std::optional<Result<RfbSnapshot>> screen_;
  std::optional<Error> viewer_closed_;
};

TEST_F(ReconnectInProcess, ACutInsideAnUpdateIsCompletedAndTheViewerGoesOnWithTheNewSession) {
  ASSERT_NO_FATAL_FAILURE(open(kInsideFirstUpdate));
  // The cut update reached the viewer whole (completed), then the resume's full update.
  ASSERT_TRUE(cluster().loop().run_until([&] {
    return (events_.reconnected == 1 && viewer_->updates_received() >= 2) ||
           events_.end.has_value();
  })) << events_.all_log();
  ASSERT_FALSE(events_.end.has_value()) << events_.end->error.message() << "\n"
                                        << events_.all_log();
  EXPECT_EQ(events_.attempts, std::vector<int>{1});
  EXPECT_EQ(events_.reconnected_attempts, 1);
  // The viewer's parser is in step with the new session: more whole updates parse.
  ASSERT_TRUE(one_more_update()) << events_.all_log();
  ASSERT_TRUE(one_more_update()) << events_.all_log();
  EXPECT_TRUE(viewer_->ready());
  EXPECT_FALSE(viewer_closed_.has_value());
  EXPECT_EQ(viewer_->screen().width, 640);
  EXPECT_EQ(viewer_->screen().height, 480);
  EXPECT_EQ(events_.connected, 1);  // one client throughout, never reconnected locally

  viewer_->close();
  ASSERT_TRUE(cluster().loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reason, CloseReason::client_closed);
  EXPECT_EQ(events_.end->reconnects, 1u);
}

TEST_F(ReconnectInProcess, AnExpiredLoginTicketIsRenewedByLoggingInAgain) {
  ASSERT_NO_FATAL_FAILURE(open(kInsideThirdUpdate, /*password_login=*/true));
  // Three hours later the login ticket (2 h) is dead: the next vncproxy answers 401.
  cluster().mock().clock.advance(3 * 3600);
  for (int i = 0; i < 4 && events_.reconnected == 0 && !events_.end.has_value(); ++i) {
    viewer_->request_update(false);
    cluster().loop().run_until([&] { return events_.reconnected == 1 || events_.end.has_value(); });
  }
  ASSERT_FALSE(events_.end.has_value()) << events_.end->error.message() << "\n"
                                        << events_.all_log();
  EXPECT_NE(events_.all_log().find("logging in again"), std::string::npos) << events_.all_log();
  ASSERT_TRUE(one_more_update()) << events_.all_log();
  session_->interrupt(SIGTERM);
  ASSERT_TRUE(cluster().loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reconnects, 1u);
}

TEST_F(ReconnectInProcess, AnAuthenticationFailureEndsTheSessionAtOnce) {
  ASSERT_NO_FATAL_FAILURE(open(kInsideThirdUpdate));
  // The API token expires: no new attempt can succeed.
  auto& users = cluster().mock().api->mutable_inventory().users;
  for (auto& u : users) {
    for (auto& t : u.tokens) t.expire = cluster().mock().clock.unix_seconds() + 1;
  }
  cluster().mock().clock.advance(60);
  viewer_->request_update(false);
  viewer_->request_update(false);
  ASSERT_TRUE(cluster().loop().run_until([&] { return events_.end.has_value(); }))
      << events_.all_log();
  EXPECT_EQ(events_.end->error.code(), Errc::auth) << events_.end->error.message();
  EXPECT_EQ(events_.attempts, std::vector<int>{1});
  EXPECT_EQ(events_.reconnected, 0);
  EXPECT_EQ(events_.end->reconnects, 0u);
}

TEST_F(ReconnectInProcess, ANodeThatStaysAwayEndsTheSessionWhenTheBudgetIsSpent) {
  ASSERT_NO_FATAL_FAILURE(open(kInsideThirdUpdate, false, /*reconnect_ms=*/1200));
  cluster().unreachable = {"pve1"};
  viewer_->request_update(false);
  viewer_->request_update(false);
  ASSERT_TRUE(cluster().loop().run_until([&] { return events_.end.has_value(); }))
      << events_.all_log();
  EXPECT_EQ(events_.end->reason, CloseReason::error);
  EXPECT_EQ(events_.end->error.code(), Errc::connection_lost) << events_.end->error.message();
  EXPECT_NE(events_.end->error.message().find("--reconnect"), std::string::npos)
      << events_.end->error.message();
  // 0.25 s, then 0.5 s: at least three attempts fit in 1.2 s, and none succeeded.
  ASSERT_GE(events_.attempts.size(), 2u);
  for (size_t i = 0; i < events_.attempts.size(); ++i) {
    EXPECT_EQ(events_.attempts[i], static_cast<int>(i + 1));
  }
  EXPECT_EQ(events_.reconnected, 0);
}

TEST_F(ReconnectInProcess, WithReconnectOffALossEndsTheSessionAsBefore) {
  ASSERT_NO_FATAL_FAILURE(open(kInsideThirdUpdate, false, /*reconnect_ms=*/0));
  viewer_->request_update(false);
  viewer_->request_update(false);
  ASSERT_TRUE(cluster().loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->error.code(), Errc::connection_lost) << events_.end->error.message();
  EXPECT_TRUE(events_.attempts.empty());
}

// The mock's own faults (tests/mock_pveproxy/mock_options.h): each cuts the first console only.
class MockCuts : public ReconnectInProcess,
                 public ::testing::WithParamInterface<std::vector<std::string>> {
 protected:
  MockCuts() { faults_ = GetParam(); }
};

TEST_P(MockCuts, TheViewerStaysThroughTheCutAndGetsTheNewSessionsUpdates) {
  ASSERT_NO_FATAL_FAILURE(open(0));
  for (int i = 0; i < 4 && events_.reconnected == 0 && !events_.end.has_value(); ++i) {
    viewer_->request_update(false);
    ASSERT_TRUE(viewer_->send_key('k', true));
    ASSERT_TRUE(viewer_->send_key('k', false));
    cluster().loop().run_until([&] { return events_.reconnected == 1 || events_.end.has_value(); });
  }
  ASSERT_FALSE(events_.end.has_value()) << events_.end->error.message() << "\n"
                                        << events_.all_log();
  ASSERT_EQ(events_.reconnected, 1) << events_.all_log();
  ASSERT_TRUE(one_more_update()) << events_.all_log();
  ASSERT_TRUE(one_more_update()) << events_.all_log();
  EXPECT_TRUE(viewer_->ready());
  EXPECT_FALSE(viewer_closed_.has_value());
  viewer_->close();
  ASSERT_TRUE(cluster().loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reconnects, 1u);
}

INSTANTIATE_TEST_SUITE_P(Faults, MockCuts,
                         ::testing::Values(std::vector<std::string>{"cut_ws=down:700000"},
                                           std::vector<std::string>{"cut_ws=down:2000000,rst"},
                                           std::vector<std::string>{"cut_ws=up:100"},
                                           std::vector<std::string>{"cut_ws=up:150,rst"},
                                           std::vector<std::string>{"cut_ws=random:3000000,rst"},
                                           std::vector<std::string>{"cut_ws=down:700000,rst",
                                                                    "refuse_vncproxy=2"}));

class MockCutsEveryConsole : public ReconnectInProcess {
 protected:
  MockCutsEveryConsole() { faults_ = {"cut_ws=down:900000,times=0"}; }
};

TEST_F(MockCutsEveryConsole, EachCutIsHiddenAndCounted) {
  ASSERT_NO_FATAL_FAILURE(open(0));
  for (int i = 0; i < 12 && events_.reconnected < 5 && !events_.end.has_value(); ++i) {
    viewer_->request_update(false);
    const int before = events_.reconnected;
    cluster().loop().run_until(
        [&] { return events_.reconnected > before || events_.end.has_value(); });
  }
  ASSERT_FALSE(events_.end.has_value()) << events_.end->error.message();
  EXPECT_GE(events_.reconnected, 5) << events_.all_log();
  EXPECT_TRUE(viewer_->ready());
  session_->interrupt(SIGTERM);
  ASSERT_TRUE(cluster().loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reconnects, static_cast<uint32_t>(events_.reconnected));
}

class MockStall : public ReconnectInProcess {
 protected:
  MockStall() { faults_ = {"stall_ws_after=2000000"}; }
};

TEST_F(MockStall, AStalledConsoleIsNoticedByTheKeepaliveAndReplaced) {
  ASSERT_NO_FATAL_FAILURE(open(0, false, 60000, /*keepalive_ms=*/200));
  viewer_->request_update(false);
  ASSERT_TRUE(cluster().loop().run_until([&] {
    return events_.reconnected == 1 || events_.end.has_value();
  })) << events_.all_log();
  ASSERT_FALSE(events_.end.has_value()) << events_.end->error.message();
  ASSERT_FALSE(events_.reasons.empty());
  EXPECT_NE(events_.reasons[0].find("keepalive"), std::string::npos) << events_.reasons[0];
  ASSERT_TRUE(one_more_update()) << events_.all_log();
  session_->interrupt(SIGTERM);
  ASSERT_TRUE(cluster().loop().run_until([&] { return events_.end.has_value(); }));
}

}  // namespace
}  // namespace pvb::seams
