// One connection per console, in process: ProxmoxClient's REST calls and the console WebSocket go
// through the engine's Dialer seam (StackDialer) to the mock pveproxy on MemPipes, and the test
// counts the connections the dialer makes. The WebSocket is opened the way a console does it:
// from inside vncproxy's callback, with the client's auth headers.
#include <gtest/gtest.h>

#include <optional>

#include "engine/proxmox/proxmox_client.h"
#include "tests/mock_pveproxy/server/test/harness.h"
#include "transports/stack/stack_dialer.h"

namespace pvb::seams {
namespace {

// The mock (with the test's options) behind a StackDialer that counts what it dials.
class Rig {
 public:
  explicit Rig(mock::MockOptions options = {})
      : mock_(std::move(options)),
        dialer_(
            mock_.loop,
            [this](const ApiHost&) {
              ++connections;
              return mock_.open_connection();
            },
            mock_.random) {
    Credentials c;
    c.token = *parse_api_token(std::string(mock::test::kRootToken));
    ProxmoxClientOptions o;
    o.timeout_ms = 5000;
    o.log = [this](std::string_view line) { client_log.emplace_back(line); };
    client_ = std::make_unique<ProxmoxClient>(mock_.loop, std::vector<ApiHost>{{"pve1", 8006}},
                                              dialer_, std::move(c), o);
  }

  // Logs in, finds web01 and asks for its console ticket; `then` runs inside vncproxy's callback.
  void console_ticket(const std::function<void(const Guest&, const VncTicket&)>& then) {
    std::optional<Error> connected;
    client_->connect([&](Error e) { connected = e; });
    ASSERT_TRUE(mock_.run_until([&] { return connected.has_value(); }));
    ASSERT_TRUE(connected->ok()) << connected->message();
    std::optional<Result<std::vector<Guest>>> guests;
    client_->list_guests([&](Result<std::vector<Guest>> r) { guests = std::move(r); });
    ASSERT_TRUE(mock_.run_until([&] { return guests.has_value(); }));
    ASSERT_TRUE(guests->ok()) << guests->error().message();
    for (const Guest& g : guests->value()) {
      if (g.name == "web01") web01_ = g;
    }
    ASSERT_TRUE(web01_.has_value());
    bool done = false;
    client_->vncproxy(*web01_, [&](Result<VncTicket> t) {
      done = true;
      ASSERT_TRUE(t.ok()) << t.error().message();
      ticket_ = *t;
      then(*web01_, *t);
    });
    ASSERT_TRUE(mock_.run_until([&] { return done; }));
  }

  // Opens the console WebSocket as ConsoleSession does.
  void open_websocket() {
    WebSocketRequest request;
    request.path = ProxmoxClient::websocket_path(*web01_, *ticket_);
    request.headers = client_->auth_headers();
    ws_ = dialer_.open_websocket(client_->host(), std::move(request));
    ASSERT_NE(ws_, nullptr);
    ws_->set_sink(&sink_);
    ws_->start();
  }

  // Runs until the fake VM's RFB banner came through the WebSocket.
  void expect_rfb_banner() {
    ASSERT_TRUE(mock_.run_until([&] { return sink_.data.size() >= 12 || sink_.closed; }));
    EXPECT_TRUE(sink_.connected) << sink_.error.message();
    EXPECT_EQ(sink_.data.substr(0, 12), "RFB 003.008\n");
  }

  mock::test::Harness& mock() { return mock_; }
  ProxmoxClient& client() { return *client_; }
  StackDialer& dialer() { return dialer_; }
  bool client_logged(std::string_view text) const {
    for (const std::string& l : client_log) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
  size_t connections = 0;
  std::vector<std::string> client_log;

 private:
  mock::test::Harness mock_;
  StackDialer dialer_;
  std::unique_ptr<ProxmoxClient> client_;
  std::optional<Guest> web01_;
  std::optional<VncTicket> ticket_;
  std::unique_ptr<WebSocketStream> ws_;
  mock::test::Collector sink_;
};

TEST(KeepAliveInProcess, TheConsoleWebSocketReusesTheRestConnection) {
  Rig rig;
  rig.console_ticket([&](const Guest&, const VncTicket&) { rig.open_websocket(); });
  rig.expect_rfb_banner();
  // Token check, guest list, vncproxy and the upgrade: one connection.
  EXPECT_EQ(rig.connections, 1u);
  EXPECT_EQ(rig.dialer().websockets_on_reused_connections(), 1u);
  EXPECT_EQ(rig.mock().server->connections_up(), 1u);
}

TEST(KeepAliveInProcess, OpenedLaterItStillReusesTheIdleConnection) {
  Rig rig;
  rig.console_ticket([](const Guest&, const VncTicket&) {});
  rig.open_websocket();
  rig.expect_rfb_banner();
  EXPECT_EQ(rig.connections, 1u);
}

// A REST call in flight owns the connection: the WebSocket dials its own, and both complete.
TEST(KeepAliveInProcess, ARequestInFlightMeansANewConnection) {
  Rig rig;
  std::optional<Result<std::vector<Guest>>> again;
  rig.console_ticket([&](const Guest&, const VncTicket&) {
    rig.client().list_guests([&](Result<std::vector<Guest>> r) { again = std::move(r); });
    rig.open_websocket();
  });
  rig.expect_rfb_banner();
  ASSERT_TRUE(rig.mock().run_until([&] { return again.has_value(); }));
  EXPECT_TRUE(again->ok());
  EXPECT_EQ(rig.connections, 2u);
  EXPECT_EQ(rig.dialer().websockets_on_reused_connections(), 0u);
}

// pveproxy closed the kept connection after its idle timeout: the WebSocket dials a new one.
TEST(KeepAliveInProcess, AConnectionTheServerClosedIsNotReused) {
  mock::MockOptions o;
  o.keepalive_timeout_ms = 10;
  Rig rig(o);
  rig.console_ticket([](const Guest&, const VncTicket&) {});
  ASSERT_TRUE(
      rig.mock().run_until([&] { return rig.client_logged("closed by the server while idle"); }));
  rig.open_websocket();
  rig.expect_rfb_banner();
  EXPECT_EQ(rig.connections, 2u);
  EXPECT_EQ(rig.dialer().websockets_on_reused_connections(), 0u);
}

// The same just after the server's close, before the client has read it: whichever way the
// dialer goes (reuse, then redial; or a new connection), the console opens on a second one.
TEST(KeepAliveInProcess, AConnectionClosedAMomentAgoStillGivesAConsole) {
  mock::MockOptions o;
  o.keepalive_timeout_ms = 10;
  Rig rig(o);
  rig.console_ticket([](const Guest&, const VncTicket&) {});
  ASSERT_TRUE(rig.mock().run_until([&] { return rig.mock().log_contains("keep-alive timeout"); }));
  rig.open_websocket();
  rig.expect_rfb_banner();
  EXPECT_EQ(rig.connections, 2u);
}

// The race: the server closes the reused connection as the upgrade arrives (fault close_reused).
// The upgrade goes again on a fresh connection, and the console works.
TEST(KeepAliveInProcess, ClosedAsTheUpgradeArrivesIsRetriedOnAFreshConnection) {
  mock::MockOptions o;
  ASSERT_TRUE(o.add_fault("close_reused=vncwebsocket").ok());
  Rig rig(o);
  rig.console_ticket([&](const Guest&, const VncTicket&) { rig.open_websocket(); });
  rig.expect_rfb_banner();
  EXPECT_TRUE(rig.mock().log_contains("closed unanswered (fault close_reused)"));
  EXPECT_EQ(rig.connections, 2u);
  EXPECT_EQ(rig.dialer().websockets_on_reused_connections(), 1u);
}

}  // namespace
}  // namespace pvb::seams
