// Reconnect end to end through the remaining faults (issue 14), each with the real
// pvebridge and mock-pveproxy programs and pvb-vnc-check (libvncclient) as the viewer; the fake
// VM's screen is frozen, so a viewer that leaves must hold the VM's screen pixel for pixel.
//   - the node's pveproxy restarts (restart_api: every connection drops, connections are refused
//     for a while): the viewer stays, the session reconnects once the API is back; an API that
//     stays down longer than --reconnect ends the session with exit 7;
//   - the login expires at the cut (expire_auth): with a password the bridge logs in again and
//     reconnects; with an API token (revoked) the session ends at once with exit 3;
//   - failover: the first --host goes down for good; the reconnect goes to the second, and both
//     the vncproxy and the console WebSocket go there (mock-pveproxy --also-listen);
//   - serve: two clients through cut consoles at once, each reconnected, and the endpoint goes on
//     serving.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <utility>

#include "engine/core/platform.h"
#include "tests/integration/mock_fixture.h"
#include "tests/integration/rfb_peers.h"

namespace pvb::testing {
namespace {

constexpr char kNodePassword[] = "NODE-PW7";

// A binary PPM (P6, maxval 255) as its size and pixel bytes; width 0 when unreadable.
struct Picture {
  int width = 0;
  int height = 0;
  std::string pixels;
};

Picture read_picture(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::string magic;
  int maxval = 0;
  Picture p;
  if (!(in >> magic >> p.width >> p.height >> maxval) || magic != "P6" || maxval != 255) {
    return Picture{};
  }
  in.get();  // the one whitespace byte before the pixels
  p.pixels.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (p.pixels.size() != static_cast<size_t>(p.width) * p.height * 3) return Picture{};
  return p;
}

void expect_same_picture(const Picture& seen, const Picture& vm) {
  ASSERT_NE(vm.width, 0) << "no VM screen";
  ASSERT_NE(seen.width, 0) << "the viewer wrote no picture";
  EXPECT_EQ(seen.width, vm.width);
  EXPECT_EQ(seen.height, vm.height);
  EXPECT_TRUE(seen.pixels == vm.pixels) << "the viewer's framebuffer differs from the VM's screen";
}

// The lines of `text` that contain every one of `needles`.
std::vector<std::string> lines_with(const std::string& text, std::vector<std::string> needles) {
  std::vector<std::string> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    bool all = true;
    for (const std::string& n : needles) all = all && line.find(n) != std::string::npos;
    if (all) found.push_back(line);
  }
  return found;
}

class ReconnectFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (vnc_check_path().empty()) GTEST_SKIP() << "pvb-vnc-check not built (libvncserver-dev)";
    auto d = PrivateDir::create("pvb-reconnect-faults");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string path(const std::string& name) { return dir_->path() + "/" + name; }

  // A mock whose fake VM screens stand still at tick 3, dumped into dir on SIGUSR1.
  std::unique_ptr<MockPveproxy> frozen_mock(std::vector<std::string> more) {
    std::vector<std::string> flags = {"--vnc-password",      kNodePassword,
                                      "--fake-vm-freeze-at", "3",
                                      "--fake-vm-dump-dir",  dir_->path()};
    flags.insert(flags.end(), more.begin(), more.end());
    return std::make_unique<MockPveproxy>(flags);
  }
  // The fake VM's screen of guest 100 as it is now (asks the mock to dump it).
  Picture vm_screen(MockPveproxy& m) {
    const std::string ppm = path("100.ppm");
    std::remove(ppm.c_str());
    m.process().signal(SIGUSR1);
    EXPECT_TRUE(wait_until([&] { return file_exists(ppm); })) << "the mock wrote no screen";
    return read_picture(ppm);
  }
  // Stops the mock and returns everything it logged. It must end in order (0): its restarts and
  // dropped connections leave nothing broken behind (under sanitizers: no report).
  static std::string mock_log(MockPveproxy& m) {
    m.process().close_stdin();
    EXPECT_EQ(m.process().wait(kPeerWaitMs), 0) << m.process().stderr_text();
    return m.process().stderr_text();
  }

  static std::map<std::string, std::string> token_env(const MockPveproxy& m) {
    return base_env({{"PVE_API_TOKEN", m.info().api_token}});
  }
  static std::map<std::string, std::string> password_env(const MockPveproxy& m) {
    return base_env({{"PVE_USER", m.info().user}, {"PVE_PASSWORD", m.info().password}});
  }

  struct Session {
    int bridge_exit = -1;
    int viewer_exit = -1;
    std::vector<std::string> events;  // the bridge's --json lines
    std::string bridge_err;
    std::string viewer_err;
    Picture seen;  // the viewer's framebuffer when it left
  };
  // pvebridge connect --no-viewer with `hosts` (--host each) and `more` flags, and pvb-vnc-check
  // through it for `seconds` seconds asking for updates all along, writing its framebuffer to
  // viewer.ppm at the end.
  Session run(const MockPveproxy& m, std::vector<std::string> hosts,
              const std::map<std::string, std::string>& env, int seconds,
              std::vector<std::string> more = {}) {
    Session s;
    std::vector<std::string> args = {"connect",           "web01",     "--json",
                                     "--no-viewer",       "--verbose", "--fingerprint",
                                     m.info().fingerprint};
    for (const std::string& h : hosts) {
      args.push_back("--host");
      args.push_back(h);
    }
    args.insert(args.end(), more.begin(), more.end());
    auto bridge = start_pvebridge(args, env);
    auto listening = bridge->wait_for_line("\"listening\"", kPeerWaitMs);
    EXPECT_TRUE(listening) << bridge->stderr_text();
    if (!listening) return s;
    const int port = std::stoi(json_get(*listening, "port").value_or("0"));
    const std::string vv = read_file(json_get(*listening, "vv_file").value_or(""));
    std::remove(path("viewer.ppm").c_str());
    s.viewer_exit = run_vnc_check(
        dir_->path(), port, vv_value(vv, "password"),
        {"--encodings", "tight", "--seconds", std::to_string(seconds), "--out", path("viewer.ppm")},
        &s.viewer_err);
    s.bridge_exit = bridge->wait(kPeerWaitMs).value_or(-1);
    s.events = bridge->stdout_lines();
    s.bridge_err = bridge->stderr_text();
    s.seen = read_picture(path("viewer.ppm"));
    return s;
  }

  std::optional<PrivateDir> dir_;
};

// --- the node's pveproxy restarts ---

// 600 ms after the console opened, the mock drops every connection (the API's and the console
// WebSocket) and refuses new ones for 1.2 s. The bridge's first attempts are refused (0, 0.25,
// 0.75 s after the loss); the one at 1.75 s, after the API is back, succeeds. The viewer never
// notices.
TEST_F(ReconnectFaultsTest, AnApiRestartIsBridgedAndTheViewerEndsWithTheVmsExactScreen) {
  auto m = frozen_mock({"--fault", "restart_api=after:600,down:1200"});
  ASSERT_TRUE(m->ok());
  Session s = run(*m, {m->info().host()}, token_env(*m), 4);
  EXPECT_EQ(s.viewer_exit, 0) << s.viewer_err << "\n" << s.bridge_err;
  EXPECT_EQ(s.bridge_exit, 0) << s.bridge_err;
  const auto reconnecting = event_lines(s.events, "reconnecting");
  ASSERT_GE(reconnecting.size(), 2u) << "no attempt was refused:\n" << s.bridge_err;
  EXPECT_NE(s.bridge_err.find("connection refused"), std::string::npos) << s.bridge_err;
  const std::string reconnected = event_line(s.events, "reconnected");
  ASSERT_FALSE(reconnected.empty()) << s.bridge_err;
  EXPECT_EQ(json_get(reconnected, "attempts"), std::to_string(reconnecting.size()));
  EXPECT_EQ(event_lines(s.events, "reconnected").size(), 1u) << s.bridge_err;
  const std::string closed = event_line(s.events, "closed");
  EXPECT_EQ(json_get(closed, "reason"), "client_closed") << closed;
  EXPECT_EQ(json_get(closed, "reconnects"), "1") << closed;
  expect_same_picture(s.seen, vm_screen(*m));
  const std::string log = mock_log(*m);
  EXPECT_EQ(lines_with(log, {"restart_api: dropped", "1 console(s)"}).size(), 1u) << log;
  EXPECT_EQ(lines_with(log, {"restart_api: the API is back"}).size(), 1u) << log;
}

// The same node restarting twice, its connections ended by TCP resets (a node that reboots, a
// firewall that forgets them) rather than a FIN: each loss is a reset, each bridged.
TEST_F(ReconnectFaultsTest,
       TwoApiRestartsByTcpResetAreBridgedAndTheViewerEndsWithTheVmsExactScreen) {
  auto m = frozen_mock({"--fault", "restart_api=after:500,down:700,times=2,rst"});
  ASSERT_TRUE(m->ok());
  Session s = run(*m, {m->info().host()}, token_env(*m), 6);
  EXPECT_EQ(s.viewer_exit, 0) << s.viewer_err << "\n" << s.bridge_err;
  EXPECT_EQ(s.bridge_exit, 0) << s.bridge_err;
  EXPECT_EQ(event_lines(s.events, "reconnected").size(), 2u) << s.bridge_err;
  const auto reconnecting = event_lines(s.events, "reconnecting");
  ASSERT_GE(reconnecting.size(), 2u) << s.bridge_err;
  // The loss that starts each reconnect (attempt 1) is named a reset.
  size_t resets = 0;
  for (const std::string& e : reconnecting) {
    if (json_get(e, "attempt") != "1") continue;
    EXPECT_NE(json_get(e, "reason").value_or("").find("reset"), std::string::npos) << e;
    ++resets;
  }
  EXPECT_EQ(resets, 2u) << s.bridge_err;
  const std::string closed = event_line(s.events, "closed");
  EXPECT_EQ(json_get(closed, "reason"), "client_closed") << closed;
  EXPECT_EQ(json_get(closed, "reconnects"), "2") << closed;
  expect_same_picture(s.seen, vm_screen(*m));
  const std::string log = mock_log(*m);
  EXPECT_EQ(lines_with(log, {"restart_api: dropped", "1 console(s) by TCP reset"}).size(), 2u)
      << log;
  EXPECT_EQ(lines_with(log, {"restart_api: the API is back"}).size(), 2u) << log;
}

// The API goes down for a minute; --reconnect 2 gives up after 2 s: exit 7 (network), as for a
// node that stays away, with the --reconnect budget named, and the viewer's connection ends.
TEST_F(ReconnectFaultsTest, AnApiThatStaysDownLongerThanTheBudgetEndsTheSessionWithExit7) {
  auto m = frozen_mock({"--fault", "restart_api=after:500,down:60000"});
  ASSERT_TRUE(m->ok());
  // The viewer would stay 20 s; the session must end well before and take it along.
  Session s = run(*m, {m->info().host()}, token_env(*m), 20, {"--reconnect", "2"});
  EXPECT_EQ(s.bridge_exit, 7) << s.bridge_err;
  EXPECT_NE(s.viewer_exit, 0) << "the viewer's connection ends with the session";
  EXPECT_TRUE(event_lines(s.events, "reconnected").empty()) << s.bridge_err;
  EXPECT_GE(event_lines(s.events, "reconnecting").size(), 2u) << s.bridge_err;
  const std::string closed = event_line(s.events, "closed");
  const std::string reason = json_get(closed, "reason").value_or("");
  EXPECT_TRUE(reason == "error" || reason == "server_closed") << closed;
  EXPECT_EQ(json_get(closed, "reconnects"), "0") << closed;
  // Why: the `error` event's message, or for a console the server ended in order (a restart
  // closes its connections) the `closed` event's; either says the budget was spent.
  const std::string message = reason == "error"
                                  ? json_get(event_line(s.events, "error"), "message").value_or("")
                                  : json_get(closed, "message").value_or("");
  EXPECT_NE(message.find("--reconnect"), std::string::npos) << closed;
}

// --- the login expires at the cut ---

// Password login: the cut (a reset within the first 40 KB) also expires every login ticket. The
// reconnect's vncproxy gets 401; the bridge logs in again (a second POST /access/ticket) and goes
// on.
TEST_F(ReconnectFaultsTest, AnExpiredLoginIsRenewedWithThePasswordAndTheSessionGoesOn) {
  auto m = frozen_mock({"--fault", "cut_ws=random:40000,rst", "--fault", "expire_auth"});
  ASSERT_TRUE(m->ok());
  Session s = run(*m, {m->info().host()}, password_env(*m), 3);
  EXPECT_EQ(s.viewer_exit, 0) << s.viewer_err << "\n" << s.bridge_err;
  EXPECT_EQ(s.bridge_exit, 0) << s.bridge_err;
  EXPECT_EQ(event_lines(s.events, "reconnected").size(), 1u) << s.bridge_err;
  EXPECT_NE(s.bridge_err.find("logging in again"), std::string::npos) << s.bridge_err;
  expect_same_picture(s.seen, vm_screen(*m));
  const std::string log = mock_log(*m);
  EXPECT_EQ(lines_with(log, {"(fault expire_auth)"}).size(), 1u) << log;
  EXPECT_EQ(lines_with(log, {"POST /api2/json/access/ticket 200"}).size(), 2u) << log;
  // The stale ticket was refused once, on the reconnect's first call.
  EXPECT_GE(lines_with(log, {"vncproxy 401"}).size(), 1u) << log;
}

// An API token revoked at the cut: it will not fix itself, so the session ends at once with the
// authentication exit code; no reconnect loop.
TEST_F(ReconnectFaultsTest, ARevokedApiTokenEndsTheSessionAtOnceWithExit3) {
  auto m = frozen_mock({"--fault", "cut_ws=random:40000,rst", "--fault", "expire_auth"});
  ASSERT_TRUE(m->ok());
  Session s = run(*m, {m->info().host()}, token_env(*m), 20);
  EXPECT_EQ(s.bridge_exit, 3) << s.bridge_err;
  EXPECT_NE(s.viewer_exit, 0) << "the viewer's connection ends with the session";
  EXPECT_LE(event_lines(s.events, "reconnecting").size(), 1u) << s.bridge_err;
  EXPECT_TRUE(event_lines(s.events, "reconnected").empty()) << s.bridge_err;
  const std::string log = mock_log(*m);
  EXPECT_EQ(lines_with(log, {"vncproxy 401"}).size(), 1u) << log;
}

// --- failover to the next --host ---

// Two pveproxy of one cluster (--also-listen): the first goes down for good 600 ms after the
// console opened. The reconnect must log in on the second and take both the new ticket
// (vncproxy) and the console WebSocket there: pveproxy does not forward a WebSocket between
// nodes.
TEST_F(ReconnectFaultsTest, AnUnreachableFirstHostFailsOverToTheNextForTicketAndWebSocket) {
  auto m =
      frozen_mock({"--also-listen", "127.0.0.1:0", "--fault", "restart_api=after:600,down:600000"});
  ASSERT_TRUE(m->ok());
  ASSERT_EQ(m->info().ports.size(), 2u);
  const std::string first = " (on :" + std::to_string(m->info().ports[0]) + "): ";
  const std::string second = " (on :" + std::to_string(m->info().ports[1]) + "): ";
  Session s = run(*m, {m->info().host(0), m->info().host(1)}, token_env(*m), 3);
  EXPECT_EQ(s.viewer_exit, 0) << s.viewer_err << "\n" << s.bridge_err;
  EXPECT_EQ(s.bridge_exit, 0) << s.bridge_err;
  EXPECT_EQ(event_lines(s.events, "reconnected").size(), 1u) << s.bridge_err;
  expect_same_picture(s.seen, vm_screen(*m));
  const std::string log = mock_log(*m);
  // The first console on the first host, the second on the second one, each whole.
  EXPECT_EQ(lines_with(log, {first, "vncproxy 200"}).size(), 1u) << log;
  EXPECT_EQ(lines_with(log, {first, "vncwebsocket 101"}).size(), 1u) << log;
  EXPECT_EQ(lines_with(log, {second, "vncproxy 200"}).size(), 1u) << log;
  EXPECT_EQ(lines_with(log, {second, "vncwebsocket 101"}).size(), 1u) << log;
}

// --- serve ---

// serve with two libvncclient clients at once while the mock cuts both their consoles at random
// offsets (cut_ws=random:3000,armed,times=2: once both consoles are up, SIGUSR2 arms their cuts
// and steps the VM's screen, so each cut falls inside the update that carries the new picture):
// each client stays, each gets its own `reconnected` (naming its client), both end with the VM's
// exact new screen; then a third client is served as before. (Unarmed, a cut after a count of
// bytes could strike the first client's console before the second client's opened, and then its
// reconnected console instead of the second client's.)
TEST_F(ReconnectFaultsTest, ServeReconnectsTwoClientsAtOnceAndGoesOnServing) {
  auto m = frozen_mock({"--fault", "cut_ws=random:3000,armed,times=2"});
  ASSERT_TRUE(m->ok());
  auto bridge = start_pvebridge({"serve", "web01", "--json", "--verbose", "--host",
                                 m->info().host(), "--fingerprint", m->info().fingerprint},
                                token_env(*m));
  auto listening = bridge->wait_for_line("\"listening\"", kPeerWaitMs);
  ASSERT_TRUE(listening) << bridge->stderr_text();
  const int port = std::stoi(json_get(*listening, "port").value_or("0"));
  const std::string password =
      vv_value(read_file(json_get(*listening, "vv_file").value_or("")), "password");
  auto one = start_vnc_check(dir_->path(), port, password,
                             {"--encodings", "tight", "--seconds", "3", "--out", path("one.ppm")});
  auto two =
      start_vnc_check(dir_->path(), port, password,
                      {"--encodings", "hextile", "--seconds", "3", "--out", path("two.ppm")});
  // Both consoles up, then their cuts armed.
  auto ready = [&] {
    bridge->read_line(20);
    return lines_with(bridge->stderr_text(), {"RFB session with the node ready"}).size() >= 2;
  };
  ASSERT_TRUE(wait_until(ready)) << bridge->stderr_text();
  m->process().signal(SIGUSR2);
  EXPECT_EQ(one->wait(kPeerWaitMs), 0) << one->stderr_text() << "\n" << bridge->stderr_text();
  EXPECT_EQ(two->wait(kPeerWaitMs), 0) << two->stderr_text() << "\n" << bridge->stderr_text();
  const Picture vm = vm_screen(*m);
  expect_same_picture(read_picture(path("one.ppm")), vm);
  expect_same_picture(read_picture(path("two.ppm")), vm);

  // The endpoint still serves: a third client gets the VM's exact screen.
  std::string err;
  EXPECT_EQ(run_vnc_check(dir_->path(), port, password,
                          {"--encodings", "tight", "--expect", path("100.ppm")}, &err),
            0)
      << err << "\n"
      << bridge->stderr_text();
  ASSERT_TRUE(wait_until([&] {
    bridge->read_line(20);
    return event_lines(bridge->stdout_lines(), "client_closed").size() >= 3;
  })) << bridge->stderr_text();
  bridge->signal(SIGTERM);
  EXPECT_EQ(bridge->wait(kPeerWaitMs), 143) << bridge->stderr_text();

  const std::vector<std::string>& events = bridge->stdout_lines();
  std::set<std::string> clients;  // client ids of the connections
  for (const std::string& e : event_lines(events, "client_connected")) {
    clients.insert(json_get(e, "client").value_or("?"));
  }
  ASSERT_EQ(clients.size(), 3u) << bridge->stderr_text();
  // One reconnect per cut console, each naming a client of its own among the first two.
  const auto reconnected = event_lines(events, "reconnected");
  ASSERT_EQ(reconnected.size(), 2u) << bridge->stderr_text();
  std::set<std::string> reconnected_clients;
  for (const std::string& e : reconnected) {
    const std::string client = json_get(e, "client").value_or("");
    EXPECT_EQ(clients.count(client), 1u) << e;
    reconnected_clients.insert(client);
    EXPECT_EQ(json_get(e, "session"), json_get(*listening, "session")) << e;
  }
  EXPECT_EQ(reconnected_clients.size(), 2u) << "both clients reconnected";
  for (const std::string& e : event_lines(events, "reconnecting")) {
    EXPECT_EQ(reconnected_clients.count(json_get(e, "client").value_or("")), 1u) << e;
  }
  // The verbose log says whose console was lost and came back, as the events do.
  for (const std::string& client : reconnected_clients) {
    EXPECT_EQ(lines_with(bridge->stderr_text(),
                         {"client " + client + ": connection to", "lost (", "); reconnecting"})
                  .size(),
              1u)
        << bridge->stderr_text();
    EXPECT_EQ(
        lines_with(bridge->stderr_text(), {"client " + client + ": reconnected after"}).size(), 1u)
        << bridge->stderr_text();
  }
  // No client's console was given up (a client_closed may still carry connection_lost: libvncclient
  // leaves with updates unread, which resets its connection).
  EXPECT_EQ(bridge->stderr_text().find("reconnect failed"), std::string::npos)
      << bridge->stderr_text();
  EXPECT_EQ(bridge->stderr_text().find("no new connection within"), std::string::npos)
      << bridge->stderr_text();
}

}  // namespace
}  // namespace pvb::testing
