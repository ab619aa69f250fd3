// ConsoleSession's modes in process (issue 13): the local one-time password and --local-auth none,
// a viewer that reconnects while its process runs, serve with two clients at once, --passthrough,
// a viewer that arrives before the upstream is ready, and a node that refuses the ticket. The
// node is the mock pveproxy on MemPipes with its fake VM (an RFB server of its own, which checks
// the node's password); local clients are MemPipe ends driven by the test RFB client.
#include <gtest/gtest.h>

#include <csignal>
#include <optional>
#include <set>

#include "engine/console/console_session.h"
#include "engine/core/platform.h"
#include "engine/rfb/rfb_wire.h"
#include "tests/engine/seams/in_process_rig.h"
#include "tests/fake_vm/rfb_client.h"
#include "transports/testing/mem_pipe.h"

namespace pvb::seams {
namespace {

// The node's VNC password every vncproxy call hands out here, so a test can look for it.
constexpr char kNodePassword[] = "NODE-PW7";

struct Events : ConsoleObserver {
  std::optional<ListeningInfo> listening;
  std::vector<int> connected;  // client ids
  std::vector<int> closed_clients;
  std::vector<int> auth_failures;
  std::vector<std::string> refused;
  std::vector<std::string> log;
  std::optional<int> viewer_exit;
  std::optional<SessionEnd> end;
  std::function<void()> when_listening;
  void on_listening(int, const ListeningInfo& i) override {
    listening = i;
    if (when_listening) when_listening();
  }
  void on_client_connected(int, int client) override { connected.push_back(client); }
  void on_client_closed(int, int client, const ClientEnd&) override {
    closed_clients.push_back(client);
  }
  void on_local_auth_failed(int, int client, std::string_view) override {
    auth_failures.push_back(client);
  }
  void on_log(int, std::string_view line) override { log.emplace_back(line); }
  void on_client_refused(int, std::string_view why) override { refused.emplace_back(why); }
  void on_viewer_exited(int, int code, std::string_view) override { viewer_exit = code; }
  void on_closed(int, const SessionEnd& e) override {
    end = e;
    if (when_closed) when_closed();
  }
  std::function<void()> when_closed;
};

// The password the .vv file hands the viewer.
std::string vv_password(const std::string& path) {
  return vv_value(path, "password");
}

mock::MockOptions node_options(std::vector<std::string> faults = {}) {
  mock::MockOptions o;
  o.fixed_vnc_password = kNodePassword;
  for (const auto& f : faults) EXPECT_TRUE(o.add_fault(f).ok()) << f;
  return o;
}

// What the test RFB client sends after its handshake: SetPixelFormat (20), SetEncodings with Raw
// alone (8), one FramebufferUpdateRequest (10).
constexpr uint64_t kClientMessageBytes = 20 + 8 + 10;

// One local client: the RFB test client and what it reported.
struct Viewer {
  std::optional<Result<RfbSnapshot>> screen;
  std::unique_ptr<RfbTestClient> client;
  bool done() const { return screen.has_value(); }
  bool got_picture() const { return screen && screen->ok() && !screen->value().pixels.empty(); }
  std::string why() const {
    if (!screen) return "no answer";
    return screen->ok() ? "ok" : screen->error().message();
  }
};

class ConsoleModes : public ::testing::Test {
 protected:
  // Starts a session for web01 (running) against a mock made with `mock_options`.
  void open(ConsoleOptions o, mock::MockOptions mock_options = node_options()) {
    cluster_.emplace(std::move(mock_options));
    client_ = cluster_->client();
    std::optional<Error> connected;
    client_->connect([&](Error e) { connected = e; });
    ASSERT_TRUE(loop().run_until([&] { return connected.has_value(); }));
    ASSERT_TRUE(connected->ok()) << connected->message();
    web01_.node = "pve1";
    web01_.vmid = 100;
    web01_.name = "web01";
    web01_.status = "running";
    o.keepalive_ms = 0;
    session_ = std::make_unique<ConsoleSession>(loop(), 1, *client_, listeners_, web01_,
                                                std::move(o), events_);
    session_->start();
  }
  void open_and_listen(ConsoleOptions o, mock::MockOptions mock_options = node_options()) {
    open(std::move(o), std::move(mock_options));
    ASSERT_TRUE(loop().run_until([&] { return events_.listening.has_value(); }))
        << (events_.end ? events_.end->error.message() : "");
  }

  Loop& loop() { return cluster_->loop(); }
  mock::MockCounters counters() { return cluster_->mock().api->counters(); }

  // Hands the session a local client of ours and starts an RFB client on it.
  void connect_viewer(Viewer& v, std::string password, bool shared = true) {
    auto [local, remote] = make_mem_pipe(loop());
    AcceptedClient c;
    c.transport = std::move(remote);
    c.peer = "in-process";
    c.peer_uid = current_user_id();
    listeners_.last()->on_accept(std::move(c));
    RfbClientOptions o;
    o.password = std::move(password);
    o.shared = shared;
    v.client = std::make_unique<RfbTestClient>(
        std::move(local), o, [&v](Result<RfbSnapshot> s) { v.screen = std::move(s); });
    v.client->start();
  }
  bool wait(Viewer& v) {
    return loop().run_until([&] { return v.done(); });
  }
  std::string vv_password_now() { return vv_password(*events_.listening->vv_file); }

  std::optional<InProcessCluster> cluster_;
  FakeListeners listeners_;
  Events events_;
  Guest web01_;
  std::unique_ptr<ProxmoxClient> client_;
  std::unique_ptr<ConsoleSession> session_;
};

TEST_F(ConsoleModes, AWrongLocalPasswordIsRefusedAndTheRightOneStillGetsIn) {
  ConsoleOptions o;
  o.launch_viewer = false;
  open_and_listen(o);
  const std::string password = vv_password_now();
  ASSERT_EQ(password.size(), kLocalPasswordLength);
  EXPECT_EQ(password, session_->local_password());
  EXPECT_NE(password, kNodePassword);
  EXPECT_EQ(events_.listening->local_auth, LocalAuth::one_time_password);
  EXPECT_FALSE(events_.listening->password.has_value()) << "only --show-password reports it";

  Viewer intruder;
  std::string wrong = password;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  connect_viewer(intruder, wrong);
  ASSERT_TRUE(wait(intruder));
  ASSERT_FALSE(intruder.screen->ok());
  EXPECT_EQ(intruder.screen->error().code(), Errc::auth) << intruder.why();
  ASSERT_TRUE(loop().run_until([&] { return !events_.auth_failures.empty(); }));
  EXPECT_EQ(events_.auth_failures.size(), 1u);
  EXPECT_TRUE(events_.connected.empty());
  EXPECT_FALSE(events_.end.has_value()) << "the session survives a wrong password";
  EXPECT_FALSE(listeners_.last()->closed);
  // The refused viewer's connection is gone on both sides before the next one comes.
  bool intruder_closed = false;
  intruder.client->set_on_closed([&](const Error&) { intruder_closed = true; });
  ASSERT_TRUE(loop().run_until([&] { return intruder_closed; }));

  Viewer viewer;
  connect_viewer(viewer, password);
  ASSERT_TRUE(wait(viewer));
  ASSERT_TRUE(viewer.got_picture()) << viewer.why();
  EXPECT_EQ(viewer.client->security_type(), rfb::kSecurityVncAuth);
  EXPECT_NE(viewer.screen->value().name.find("web01"), std::string::npos);
  ASSERT_EQ(events_.connected.size(), 1u);
  EXPECT_NE(events_.connected[0], events_.auth_failures[0]) << "each connection has its own id";
  // The refused client never cost a vncproxy of its own: the prepared upstream served the viewer.
  EXPECT_EQ(counters().vncproxy, 1u);
  session_->interrupt(SIGTERM);
  ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reason, CloseReason::interrupted);
}

// In connect mode a client whose local authentication failed no longer counts as "the" client
// while its transport finishes closing (over TCP up to the 1 s linger for the peer's FIN; here,
// as long as the refused peer keeps its end open): the viewer arriving meanwhile is served.
TEST_F(ConsoleModes, TheViewerRightAfterARefusedOneIsServedWhileTheRefusedOneLingers) {
  ConsoleOptions o;
  o.launch_viewer = false;
  open_and_listen(o);
  const std::string password = vv_password_now();
  Viewer intruder;
  connect_viewer(intruder, password == "AAAAAAAA" ? "BBBBBBBB" : "AAAAAAAA");
  ASSERT_TRUE(wait(intruder));
  ASSERT_TRUE(loop().run_until([&] { return !events_.auth_failures.empty(); }));
  // The refused viewer has read its SecurityResult but not yet closed its end.
  Viewer viewer;
  connect_viewer(viewer, password);
  ASSERT_TRUE(wait(viewer));
  EXPECT_TRUE(events_.refused.empty()) << events_.refused[0];
  EXPECT_TRUE(viewer.got_picture()) << viewer.why();
}

// In connect mode a local client that connects and never answers our ProtocolVersion (a stuck
// program of the same user, a port probe that keeps the socket open) does not hold the
// one-client slot: only a client whose handshake is done does, and a silent one is closed after
// --timeout.
TEST_F(ConsoleModes, ASilentLocalClientDoesNotLockTheViewerOut) {
  ConsoleOptions o;
  o.launch_viewer = false;
  open_and_listen(o);
  auto [silent, remote] = make_mem_pipe(loop());
  AcceptedClient c;
  c.transport = std::move(remote);
  c.peer = "silent";
  c.peer_uid = current_user_id();
  listeners_.last()->on_accept(std::move(c));
  mock::test::Collector ignored;
  silent->set_sink(&ignored);
  silent->start();
  Viewer viewer;
  connect_viewer(viewer, session_->local_password());
  ASSERT_TRUE(wait(viewer));
  EXPECT_TRUE(events_.refused.empty()) << events_.refused[0];
  EXPECT_TRUE(viewer.got_picture()) << viewer.why();
}

// The node refuses the ticket while a viewer, answered locally, waits for the picture: the viewer
// is let go (no hang) and the session ends with the node's refusal.
TEST_F(ConsoleModes, AViewerWaitingForARefusedUpstreamIsLetGo) {
  ConsoleOptions o;
  o.launch_viewer = false;
  Viewer viewer;
  events_.when_listening = [&] { connect_viewer(viewer, session_->local_password()); };
  open(o, node_options({"slow=200", "reject_ticket"}));
  ASSERT_TRUE(loop().run_until([&] { return viewer.done() && events_.end.has_value(); }));
  EXPECT_FALSE(viewer.got_picture());
  EXPECT_EQ(events_.end->reason, CloseReason::error);
  EXPECT_EQ(events_.end->error.code(), Errc::console_refused) << events_.end->error.message();
}

TEST_F(ConsoleModes, LocalAuthNoneOffersSecurityTypeNone) {
  ConsoleOptions o;
  o.launch_viewer = false;
  o.local_auth = LocalAuth::none;
  open_and_listen(o);
  EXPECT_EQ(events_.listening->local_auth, LocalAuth::none);
  EXPECT_TRUE(session_->local_password().empty());
  EXPECT_TRUE(vv_password_now().empty()) << vv_password_now();
  Viewer viewer;
  connect_viewer(viewer, "");
  ASSERT_TRUE(wait(viewer));
  ASSERT_TRUE(viewer.got_picture()) << viewer.why();
  EXPECT_EQ(viewer.client->security_type(), rfb::kSecurityNone);
  EXPECT_EQ(viewer.client->negotiated_version(), RfbVersion::v3_8);
  EXPECT_TRUE(events_.auth_failures.empty());
  viewer.client->close();
  ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
  // The handshake stayed here: only the viewer's messages went up (compare with passthrough).
  EXPECT_EQ(events_.end->bytes_to_guest, kClientMessageBytes);
  EXPECT_EQ(events_.end->reason, CloseReason::client_closed);
}

TEST_F(ConsoleModes, AViewerThatReconnectsWhileItsProcessRunsIsServedAgainWithANewVncproxy) {
  ConsoleOptions o;
  o.launch_viewer = true;
  // A long-lived "viewer": the .vv path comes last, as $0's first argument, and is ignored.
  o.viewer.program = "/bin/sh";
  o.viewer.args = {"-c", "exec sleep 30", "sh"};
  o.viewer_grace_ms = 50;
  open_and_listen(o);
  const std::string password = vv_password_now();

  Viewer first;
  connect_viewer(first, password);
  ASSERT_TRUE(wait(first));
  ASSERT_TRUE(first.got_picture()) << first.why();
  EXPECT_EQ(counters().vncproxy, 1u);
  first.client->close();
  ASSERT_TRUE(loop().run_until([&] { return events_.closed_clients.size() == 1; }));
  EXPECT_FALSE(events_.end.has_value()) << "the viewer still runs: the session waits for it";
  EXPECT_EQ(session_->state(), ConsoleSession::State::waiting);

  Viewer again;
  connect_viewer(again, password);
  ASSERT_TRUE(wait(again));
  ASSERT_TRUE(again.got_picture()) << again.why();
  EXPECT_EQ(counters().vncproxy, 2u) << "a reconnect gets a fresh upstream (a new ticket)";
  ASSERT_EQ(events_.connected.size(), 2u);
  EXPECT_NE(events_.connected[0], events_.connected[1]);
  EXPECT_EQ(again.screen->value().width, first.screen->value().width);

  session_->interrupt(SIGTERM);
  ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reason, CloseReason::interrupted);
  EXPECT_EQ(events_.end->clients, 2u);
}

TEST_F(ConsoleModes, ServeGivesTwoClientsAtOnceTheScreenEachWithItsOwnVncproxy) {
  std::vector<int> closed_clients_at_end;
  ConsoleOptions o;
  o.mode = SessionMode::serve;
  o.launch_viewer = false;
  open_and_listen(o);
  EXPECT_EQ(counters().vncproxy, 0u) << "serve opens nothing before a client comes";
  const std::string password = vv_password_now();
  ASSERT_EQ(password.size(), kLocalPasswordLength);

  Viewer a, b;
  connect_viewer(a, password);
  connect_viewer(b, password);
  ASSERT_TRUE(loop().run_until([&] { return a.done() && b.done(); }));
  ASSERT_TRUE(a.got_picture()) << a.why();
  ASSERT_TRUE(b.got_picture()) << b.why();
  EXPECT_TRUE(events_.refused.empty());
  EXPECT_EQ(counters().vncproxy, 2u);
  EXPECT_EQ(counters().ws_accepted, 2u);
  ASSERT_EQ(events_.connected.size(), 2u);
  EXPECT_NE(events_.connected[0], events_.connected[1]);

  // Both stay live: each gets a further update over its own upstream.
  uint64_t a_before = a.client->updates_received(), b_before = b.client->updates_received();
  ASSERT_TRUE(a.client->request_update(false));
  ASSERT_TRUE(b.client->request_update(false));
  ASSERT_TRUE(loop().run_until([&] {
    return a.client->updates_received() > a_before && b.client->updates_received() > b_before;
  }));

  // One leaving does not end the endpoint; the other keeps its screen.
  a.client->close();
  ASSERT_TRUE(loop().run_until([&] { return events_.closed_clients.size() == 1; }));
  EXPECT_FALSE(events_.end.has_value());
  b_before = b.client->updates_received();
  ASSERT_TRUE(b.client->request_update(false));
  ASSERT_TRUE(loop().run_until([&] { return b.client->updates_received() > b_before; }));

  // The signal ends the endpoint: the client still connected is said to have closed too, before
  // the session's end.
  events_.when_closed = [&] { closed_clients_at_end = events_.closed_clients; };
  session_->interrupt(SIGINT);
  ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reason, CloseReason::interrupted);
  EXPECT_EQ(events_.end->clients, 2u);
  EXPECT_EQ(closed_clients_at_end, events_.connected);
}

TEST_F(ConsoleModes, PassthroughHandsTheViewerTheNodesPasswordAndTheNodeAuthenticatesIt) {
  ConsoleOptions o;
  o.launch_viewer = false;
  o.passthrough = true;
  open_and_listen(o);
  EXPECT_TRUE(events_.listening->passthrough);
  EXPECT_EQ(vv_password_now(), kNodePassword) << "the old byte pipe: the .vv carries the node's";
  EXPECT_TRUE(session_->local_password().empty());
  Viewer viewer;
  connect_viewer(viewer, kNodePassword);
  ASSERT_TRUE(wait(viewer));
  ASSERT_TRUE(viewer.got_picture()) << viewer.why();
  EXPECT_EQ(viewer.client->security_type(), rfb::kSecurityVncAuth);
  viewer.client->close();
  ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reason, CloseReason::client_closed);
  // Everything the viewer said went up unread, its handshake included: version (12), security
  // type (1), the DES answer (16), ClientInit (1), then its messages (kClientMessageBytes).
  EXPECT_EQ(events_.end->bytes_to_guest, 12u + 1 + 16 + 1 + kClientMessageBytes);
}

TEST_F(ConsoleModes, PassthroughLeavesAWrongPasswordToTheNodeToRefuse) {
  ConsoleOptions o;
  o.launch_viewer = false;
  o.passthrough = true;
  open_and_listen(o);
  Viewer viewer;
  connect_viewer(viewer, "WRONG-PW");
  ASSERT_TRUE(wait(viewer));
  ASSERT_FALSE(viewer.screen->ok());
  EXPECT_EQ(viewer.screen->error().code(), Errc::auth) << viewer.why();
  ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_TRUE(events_.auth_failures.empty()) << "no local authentication in passthrough";
}

TEST_F(ConsoleModes, AViewerReadyBeforeTheUpstreamStillGetsThePicture) {
  ConsoleOptions o;
  o.launch_viewer = false;
  // Every REST reply of the node is 300 ms late: the viewer's handshake, answered locally, is done
  // long before vncproxy returns and the console WebSocket opens.
  Viewer viewer;
  std::optional<uint64_t> ws_at_accept;
  events_.when_listening = [&] {
    ws_at_accept = counters().ws_accepted;
    connect_viewer(viewer, session_->local_password());
  };
  open(o, node_options({"slow=300"}));
  ASSERT_TRUE(loop().run_until([&] { return viewer.done(); }))
      << (events_.end ? events_.end->error.message() : "");
  ASSERT_TRUE(ws_at_accept.has_value());
  EXPECT_EQ(*ws_at_accept, 0u) << "the viewer came before the upstream was open";
  ASSERT_TRUE(viewer.got_picture()) << viewer.why();
  EXPECT_EQ(counters().vncproxy, 1u) << "the prepared upstream served it";
  viewer.client->close();
  ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reason, CloseReason::client_closed);
}

// The console opened before the viewer came is lost in its own handshake (the first console
// WebSocket is cut after 20 bytes): nobody was using it, so nothing ends; another opens at once
// and the viewer that comes gets the picture.
TEST_F(ConsoleModes, APreparedConsoleLostBeforeTheViewerCameIsReplacedUnseen) {
  ConsoleOptions o;
  o.launch_viewer = false;
  open_and_listen(o, node_options({"cut_ws=down:20,rst"}));
  auto said = [&](const char* what) {
    for (const auto& line : events_.log) {
      if (line.find(what) != std::string::npos) return true;
    }
    return false;
  };
  ASSERT_TRUE(
      loop().run_until([&] { return said("lost while it opened") || events_.end.has_value(); }));
  ASSERT_FALSE(events_.end.has_value()) << events_.end->error.message() << "\n"
                                        << ::testing::PrintToString(events_.log);
  Viewer viewer;
  connect_viewer(viewer, session_->local_password());
  ASSERT_TRUE(wait(viewer));
  ASSERT_TRUE(viewer.got_picture()) << viewer.why();
  EXPECT_EQ(counters().vncproxy, 2u);
  viewer.client->close();
  ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reason, CloseReason::client_closed);
}

// The same loss with a viewer already waiting for that console: it gets another. Once: a second
// loss ends the session. With reconnecting off, the first loss ends it as before.
class ConsoleLostWhileItOpened : public ConsoleModes,
                                 public ::testing::WithParamInterface<uint64_t> {};

TEST_P(ConsoleLostWhileItOpened, TheWaitingViewerGetsAnotherUnlessReconnectingIsOff) {
  const uint64_t reconnect_ms = GetParam();
  ConsoleOptions o;
  o.launch_viewer = false;
  o.reconnect_ms = reconnect_ms;
  Viewer viewer;
  events_.when_listening = [&] { connect_viewer(viewer, session_->local_password()); };
  // Every REST reply 200 ms late: the viewer is waiting when the first console is cut.
  open(o, node_options({"slow=200", "cut_ws=down:20,rst"}));
  ASSERT_TRUE(loop().run_until([&] { return viewer.done() || events_.end.has_value(); }));
  if (reconnect_ms == 0) {
    ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
    EXPECT_EQ(events_.end->reason, CloseReason::error);
    EXPECT_FALSE(viewer.got_picture());
    return;
  }
  ASSERT_TRUE(viewer.got_picture()) << viewer.why();
  EXPECT_EQ(counters().vncproxy, 2u);
  viewer.client->close();
  ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reason, CloseReason::client_closed);
}

INSTANTIATE_TEST_SUITE_P(Reconnect, ConsoleLostWhileItOpened, ::testing::Values(60000u, 0u));

TEST_F(ConsoleModes, ANodeThatRefusesTheTicketEndsTheSessionWithAClearError) {
  ConsoleOptions o;
  o.launch_viewer = false;
  open(o, node_options({"reject_ticket"}));
  ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
  EXPECT_EQ(events_.end->reason, CloseReason::error);
  EXPECT_EQ(events_.end->error.code(), Errc::console_refused) << events_.end->error.message();
  const std::string msg = events_.end->error.message();
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line";
  EXPECT_EQ(msg.find("PVEVNC:"), std::string::npos) << "no ticket in the error";
  EXPECT_EQ(msg.find(kNodePassword), std::string::npos);
  EXPECT_EQ(counters().ws_refused, 1u);
  EXPECT_TRUE(events_.connected.empty());
}

TEST_F(ConsoleModes, ServeAClientRefusedByTheNodeIsClosedAndTheEndpointStays) {
  ConsoleOptions o;
  o.mode = SessionMode::serve;
  o.launch_viewer = false;
  open_and_listen(o, node_options({"reject_ticket"}));
  Viewer viewer;
  connect_viewer(viewer, session_->local_password());
  ASSERT_TRUE(wait(viewer));
  EXPECT_FALSE(viewer.got_picture());
  ASSERT_TRUE(loop().run_until([&] { return !events_.closed_clients.empty(); }));
  EXPECT_FALSE(events_.end.has_value()) << "serve outlives one client's failed upstream";
  EXPECT_FALSE(listeners_.last()->closed);
  session_->interrupt(SIGTERM);
  ASSERT_TRUE(loop().run_until([&] { return events_.end.has_value(); }));
}

}  // namespace
}  // namespace pvb::seams
