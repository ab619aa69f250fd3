// SpiceSession in process (issue 16's console, without a socket or a viewer): the API calls go to
// the mock pveproxy on MemPipes, the plain streams to port 3128 reach the mock's spiceproxy (which
// checks each CONNECT's signed ticket as Proxmox does and then echoes), and the relay's "viewer"
// is the test, handing MemPipe ends to a fake ListenerFactory and speaking remote-viewer's
// HTTP CONNECT. Every step of the session is seen: the display check, the proxy probe, the
// spiceproxy call, the private .vv, the channels and the ends.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "engine/console/spice_session.h"
#include "engine/core/platform.h"
#include "tests/engine/seams/in_process_rig.h"
#include "tests/mock_pveproxy/server/test/harness.h"
#include "transports/testing/mem_pipe.h"

namespace pvb::seams {
namespace {

struct Events : ConsoleObserver {
  std::optional<ListeningInfo> listening;
  int connected = 0;
  std::vector<std::string> refused;
  std::vector<std::string> log;
  std::optional<SessionEnd> end;
  void on_listening(int, const ListeningInfo& i) override { listening = i; }
  void on_client_connected(int, int) override { ++connected; }
  void on_log(int, std::string_view line) override { log.emplace_back(line); }
  void on_client_refused(int, std::string_view why) override { refused.emplace_back(why); }
  void on_viewer_exited(int, int, std::string_view) override {}
  void on_closed(int, const SessionEnd& e) override { end = e; }
  bool logged(std::string_view text) const {
    for (const std::string& l : log) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

Guest guest(const char* node, uint32_t vmid) {
  Guest g;
  g.node = node;
  g.vmid = vmid;
  g.status = "running";
  return g;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// One SPICE channel as remote-viewer opens it through the relay: CONNECT, then its bytes.
struct Channel {
  mock::test::Collector got;
  std::unique_ptr<Transport> t;
  void send(const std::string& bytes) {
    ByteChain c(bytes);
    t->write(c);
  }
};

class SpiceSessionInProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ = cluster_.client();
    std::optional<Error> connected;
    client_->connect([&](Error e) { connected = e; });
    ASSERT_TRUE(run_until(loop(), [&] { return connected.has_value(); }));
    ASSERT_TRUE(connected->ok()) << connected->message();
    web01_ = guest("pve1", 100);
    web01_.name = "web01";
    options_.relay = true;
    options_.launch_viewer = false;
    options_.idle_end_ms = 50;
  }

  Loop& loop() { return cluster_.loop(); }

  void start(const Guest& guest) {
    session_ =
        std::make_unique<SpiceSession>(loop(), 1, *client_, listeners_, guest, options_, events_);
    session_->start();
  }

  // Starts web01's console and runs until it listens; the .vv's CONNECT target in `target_`.
  void start_listening() {
    start(web01_);
    ASSERT_TRUE(run_until(loop(), [&] { return events_.listening || events_.end; }));
    ASSERT_TRUE(events_.listening.has_value()) << events_.end->error.message();
    ASSERT_TRUE(events_.listening->vv_file.has_value());
    vv_ = *events_.listening->vv_file;
    target_ = vv_value(vv_, "host") + ":" + vv_value(vv_, "tls-port");
  }

  // Opens a channel through the relay as user `uid` and sends its CONNECT for `target`.
  std::unique_ptr<Channel> open_channel(const std::string& target, uint32_t uid = ::getuid()) {
    auto [local, remote] = make_mem_pipe(loop());
    AcceptedClient c;
    c.transport = std::move(remote);
    c.peer = "in-process";
    c.peer_uid = uid;
    listeners_.last()->on_accept(std::move(c));
    auto ch = std::make_unique<Channel>();
    ch->t = std::move(local);
    ch->t->set_sink(&ch->got);
    ch->t->start();
    ch->send("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
    return ch;
  }

  uint64_t spiceproxy_calls() {
    return cluster_.mock().api->counters().by_endpoint["POST spiceproxy"];
  }

  void run_until_end() {
    ASSERT_TRUE(run_until(loop(), [&] { return events_.end.has_value(); }));
  }

  InProcessCluster cluster_;
  std::unique_ptr<ProxmoxClient> client_;
  FakeListeners listeners_;
  Guest web01_;
  SpiceSessionOptions options_;
  Events events_;
  std::unique_ptr<SpiceSession> session_;
  std::string vv_;
  std::string target_;
};

TEST_F(SpiceSessionInProcess, ChannelsPassThroughTheRelayUntilTheLastOneCloses) {
  start_listening();
  // The .vv: private, SPICE, through our relay on loopback, with what spiceproxy answered.
  struct stat st {};
  ASSERT_EQ(::stat(vv_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(vv_value(vv_, "type"), "spice");
  EXPECT_EQ(vv_value(vv_, "proxy"), "http://127.0.0.1:" + std::to_string(events_.listening->port));
  EXPECT_EQ(listeners_.last()->host, "127.0.0.1");
  EXPECT_FALSE(vv_value(vv_, "password").empty());
  EXPECT_EQ(vv_value(vv_, "host").rfind("pvespiceproxy:", 0), 0u) << vv_value(vv_, "host");
  EXPECT_EQ(cluster_.streams, 1u) << "the probe of pve1:3128 came before the ticket";
  EXPECT_EQ(spiceproxy_calls(), 1u);
  EXPECT_TRUE(events_.logged("testing the SPICE proxy pve1:3128"));

  // Two channels at once (remote-viewer's main and display), each echoed by "the guest".
  auto main_channel = open_channel(target_);
  auto display = open_channel(target_);
  main_channel->send("main-channel-bytes");
  display->send("display-channel-bytes");
  const std::string ok = "HTTP/1.1 200 OK\r\n\r\n";
  ASSERT_TRUE(run_until(loop(),
                        [&] {
                          return main_channel->got.data == ok + "main-channel-bytes" &&
                                 display->got.data == ok + "display-channel-bytes";
                        }))
      << main_channel->got.data << "\n"
      << display->got.data;
  EXPECT_EQ(events_.connected, 1) << "one viewer, whatever its channel count";
  EXPECT_EQ(cluster_.spiceproxy().granted(), 2u);
  EXPECT_EQ(cluster_.streams, 3u);

  // One channel closing is not the end; the last one is, after idle_end_ms.
  main_channel->t->close(CloseMode::Flush);
  ASSERT_TRUE(
      run_until(loop(), [&] { return main_channel->got.ended || main_channel->got.closed; }));
  EXPECT_FALSE(events_.end.has_value());
  display->t->close(CloseMode::Flush);
  run_until_end();
  EXPECT_EQ(events_.end->reason, CloseReason::client_closed) << events_.end->error.message();
  // The relay counts what passed to and from spiceproxy, its CONNECT exchange included: our
  // CONNECT (the target in its request line and in Host) and spiceproxy's 200, per channel.
  const size_t payload = std::string("main-channel-bytesdisplay-channel-bytes").size();
  EXPECT_GT(events_.end->bytes_to_guest, payload + 2 * 2 * target_.size());
  EXPECT_EQ(events_.end->bytes_from_guest, payload + 2 * ok.size());
  EXPECT_FALSE(file_exists(vv_)) << "the .vv outlived its console";
  EXPECT_TRUE(listeners_.last()->closed);
}

TEST_F(SpiceSessionInProcess, AnotherTargetOrAnotherUserIsRefusedAndTheConsoleGoesOn) {
  start_listening();
  auto forged = open_channel("pvespiceproxy:forged:100:pve1::0:61000");
  auto stranger = open_channel(target_, ::getuid() + 1);
  // Each is answered (or not) and ended by the relay: its end of the channel is over.
  ASSERT_TRUE(run_until(loop(), [&] {
    return (forged->got.ended || forged->got.closed) &&
           (stranger->got.ended || stranger->got.closed);
  }));
  EXPECT_EQ(forged->got.data.rfind("HTTP/1.1 403", 0), 0u) << forged->got.data;
  EXPECT_EQ(events_.refused.size(), 2u);
  EXPECT_EQ(cluster_.spiceproxy().granted() + cluster_.spiceproxy().refused(), 0u)
      << "a refused channel never reaches spiceproxy";
  EXPECT_EQ(events_.connected, 0);
  EXPECT_FALSE(events_.end.has_value());

  auto good = open_channel(target_);
  good->send("x");
  ASSERT_TRUE(run_until(loop(), [&] { return good->got.data == "HTTP/1.1 200 OK\r\n\r\nx"; }));
  EXPECT_EQ(events_.connected, 1);
  session_->interrupt(SIGINT);
  run_until_end();
  EXPECT_EQ(events_.end->reason, CloseReason::interrupted);
  EXPECT_EQ(events_.end->signal, SIGINT);
  EXPECT_TRUE(good->got.ended || good->got.closed) << "the open channel ends with the console";
  EXPECT_FALSE(file_exists(vv_));
}

TEST_F(SpiceSessionInProcess, NoChannelWithinTheClientWaitEndsTheConsole) {
  options_.client_wait_ms = 50;
  start_listening();
  run_until_end();
  EXPECT_EQ(events_.end->reason, CloseReason::error);
  EXPECT_EQ(events_.end->error.code(), Errc::no_client);
  EXPECT_NE(events_.end->error.message().find("no SPICE client connected within"),
            std::string::npos)
      << events_.end->error.message();
  EXPECT_FALSE(file_exists(vv_));
}

TEST_F(SpiceSessionInProcess, AnUnreachableSpiceProxyEndsItBeforeTheTicketIsAsked) {
  options_.proxy_host = "spice-gw";
  cluster_.unreachable = {"spice-gw"};
  start(web01_);
  run_until_end();
  EXPECT_FALSE(events_.listening.has_value());
  EXPECT_EQ(events_.end->error.code(), Errc::spice_unreachable);
  EXPECT_NE(events_.end->error.message().find("spice-gw:3128 is not reachable"), std::string::npos)
      << events_.end->error.message();
  EXPECT_NE(events_.end->error.message().find("--protocol vnc"), std::string::npos);
  // The password's 30 s never started: spiceproxy was not called.
  EXPECT_EQ(spiceproxy_calls(), 0u) << "a ticket was asked for";
}

TEST_F(SpiceSessionInProcess, AGuestWithoutASpiceDisplayIsNamedWithItsVga) {
  start(guest("pve3", 110));
  run_until_end();
  EXPECT_FALSE(events_.listening.has_value());
  EXPECT_EQ(events_.end->error.code(), Errc::no_spice);
  EXPECT_NE(events_.end->error.message().find("110 has no SPICE display (vga default, std"),
            std::string::npos)
      << events_.end->error.message();
  EXPECT_EQ(cluster_.streams, 0u) << "no probe for a guest that cannot have SPICE";
  EXPECT_EQ(spiceproxy_calls(), 0u);
}

TEST_F(SpiceSessionInProcess, AutoChoosesSpiceOnlyForAQemuGuestWithASpiceDisplay) {
  auto choose = [&](const Guest& g, ConsoleProtocol asked) {
    std::optional<Result<ConsoleProtocol>> r;
    choose_console_protocol(*client_, g, asked, [&](Result<ConsoleProtocol> x) { r = x; });
    EXPECT_TRUE(run_until(loop(), [&] { return r.has_value(); }));
    return *r;
  };
  Guest vm110 = guest("pve3", 110);
  Guest ct = guest("pve1", 200);
  ct.type = GuestType::lxc;
  EXPECT_EQ(*choose(web01_, ConsoleProtocol::auto_select), ConsoleProtocol::spice);
  EXPECT_EQ(*choose(vm110, ConsoleProtocol::auto_select), ConsoleProtocol::vnc);
  EXPECT_EQ(*choose(ct, ConsoleProtocol::auto_select), ConsoleProtocol::vnc);
  EXPECT_EQ(*choose(vm110, ConsoleProtocol::spice), ConsoleProtocol::spice);  // as asked
  Result<ConsoleProtocol> ct_spice = choose(ct, ConsoleProtocol::spice);
  ASSERT_FALSE(ct_spice.ok());
  EXPECT_EQ(ct_spice.error().code(), Errc::no_spice);
}

}  // namespace
}  // namespace pvb::seams
