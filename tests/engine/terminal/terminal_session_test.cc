// TerminalSession in process, over fakes of every seam: the REST exchange answers from a table,
// the WebSocket is a MemPipe whose far end the test plays (the termproxy side), and the local
// terminal is two MemPipes (keyboard in, screen out) with a scripted size and raw-mode counter.
#include "engine/terminal/terminal_session.h"

#include <gtest/gtest.h>

#include <csignal>
#include <map>

#include "engine/io/transport_overlay.h"
#include "transports/testing/mem_pipe.h"

namespace pvb {
namespace {

// --- fakes ------------------------------------------------------------------------------------

class FakeExchange final : public HttpExchange {
 public:
  FakeExchange(Loop& loop, std::map<std::string, RestResponse>& replies,
               std::vector<std::string>& log)
      : loop_(loop), replies_(replies), log_(log) {}
  void request(RestRequest r, Done done) override {
    std::string key = r.method + " " + r.path;
    std::string line = key;
    if (r.form) {
      for (auto& [k, v] : *r.form) line += " " + k + "=" + v;
    }
    log_.push_back(line);
    RestResponse resp;
    auto it = replies_.find(key);
    if (it != replies_.end()) {
      resp = it->second;
    } else {
      resp.status = 500;
      resp.reason = "no fake reply for " + key;
    }
    loop_.post([done = std::move(done), resp] { done(resp); });
  }
  void close() override {}
  void set_logger(Logger) override {}

 private:
  Loop& loop_;
  std::map<std::string, RestResponse>& replies_;
  std::vector<std::string>& log_;
};

// A WebSocketStream that is just a MemPipe end (the far end is the test's termproxy).
class FakeWs final : public TransportOverlayOf<WebSocketStream> {
 public:
  FakeWs(Loop&, std::unique_ptr<MemPipeEnd> end) : TransportOverlayOf(std::move(end)) {}
  bool send_ping(std::span<const uint8_t>) override { return true; }
  void set_pong_handler(std::function<void(ByteChain&)>) override {}
  const Transport& lower() const override { return *lower_; }
};

// The test's end of a pipe: collects what arrives.
struct Collector : TransportSink {
  std::string got;
  bool ended = false;
  bool closed = false;
  Error error;
  void on_data(ByteChain& d, bool end) override {
    got += d.to_string();
    d.clear();
    ended |= end;
  }
  void on_closed(const Error& e) override {
    closed = true;
    error = e;
  }
};

class FakeDialer final : public Dialer {
 public:
  FakeDialer(Loop& loop) : loop_(loop) {}
  std::unique_ptr<HttpExchange> open_http(const ApiHost&) override {
    return std::make_unique<FakeExchange>(loop_, replies, rest_log);
  }
  std::unique_ptr<WebSocketStream> open_websocket(const ApiHost&, WebSocketRequest r) override {
    ws_paths.push_back(r.path);
    // Bounded deliveries, as a socket reads: backpressure can act between them.
    MemPipeOptions o;
    o.max_delivery = 16 * 1024;
    auto [ours, theirs] = make_mem_pipe(loop_, o);
    server = std::move(theirs);
    server->set_sink(&server_side);
    server->start();
    auto ws = std::make_unique<FakeWs>(loop_, std::move(ours));
    client_ws = ws.get();
    return ws;
  }
  // Terminals never open a plain stream (that is SPICE's).
  std::unique_ptr<Transport> open_stream(const ApiHost&) override { return nullptr; }
  Loop& loop_;
  std::map<std::string, RestResponse> replies;
  std::vector<std::string> rest_log;
  std::vector<std::string> ws_paths;
  std::unique_ptr<MemPipeEnd> server;  // the termproxy side
  Collector server_side;
  FakeWs* client_ws = nullptr;
};

class FakeTerminal final : public TerminalIo {
 public:
  FakeTerminal(Loop& loop, bool interactive) : interactive_(interactive) {
    auto [kb_far, kb_ours] = make_mem_pipe(loop);
    auto [screen_ours, screen_far] = make_mem_pipe(loop);
    keyboard = std::move(kb_far);
    input_ = std::move(kb_ours);
    output_ = std::move(screen_ours);
    screen = std::move(screen_far);
    keyboard->set_sink(&keyboard_side);
    screen->set_sink(&screen_side);
    keyboard->start();
    screen->start();
  }
  bool interactive() const override { return interactive_; }
  Error enter_raw_mode() override {
    ++raw_entered;
    raw = true;
    return Error();
  }
  void restore_mode() override { raw = false; }
  std::optional<TerminalSize> size() const override { return size_now; }
  void set_resize_handler(std::function<void()> h) override { resize = std::move(h); }
  Transport& input() override { return *input_; }
  Transport& output() override { return *output_; }

  void type(std::string_view keys, bool end = false) {
    ByteChain c(keys);
    keyboard->write(c, end);
  }

  bool interactive_;
  int raw_entered = 0;
  bool raw = false;
  std::optional<TerminalSize> size_now = TerminalSize{100, 30};
  std::function<void()> resize;
  std::unique_ptr<MemPipeEnd> keyboard, screen;
  std::unique_ptr<MemPipeEnd> input_, output_;
  Collector keyboard_side, screen_side;
};

struct Recorder : TerminalObserver {
  bool connected = false;
  bool closed = false;
  TerminalEnd end;
  void on_connected(const TerminalTarget&, bool) override { connected = true; }
  void on_closed(const TerminalEnd& e) override {
    closed = true;
    end = e;
  }
};

RestResponse ok(std::string body) {
  RestResponse r;
  r.status = 200;
  r.reason = "OK";
  r.body = std::move(body);
  return r;
}

constexpr const char* kTermReply =
    R"({"data":{"port":"5900","ticket":"PVEVNC:T1","user":"root@pam","upid":"UPID:x"}})";

// --- the fixture ------------------------------------------------------------------------------

class TerminalSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dialer.replies["POST /api2/json/access/ticket"] = ok(
        R"({"data":{"ticket":"PVE:root@pam:X","CSRFPreventionToken":"c","username":"root@pam"}})");
    dialer.replies["POST /api2/json/nodes/pve1/lxc/200/termproxy"] = ok(kTermReply);
    dialer.replies["POST /api2/json/nodes/pve1/qemu/100/termproxy"] = ok(kTermReply);
    dialer.replies["POST /api2/json/nodes/pve1/termproxy"] = ok(kTermReply);
    dialer.replies["GET /api2/json/nodes/pve1/qemu/100/config"] =
        ok(R"({"data":{"name":"web01","serial1":"socket","serial3":"socket"}})");
    dialer.replies["GET /api2/json/nodes/pve1/lxc/201/status/current"] =
        ok(R"({"data":{"status":"stopped"}})");
  }

  Credentials user_credentials() {
    Credentials c;
    c.user = "root@pam";
    c.password = "pw";
    return c;
  }

  void make(TerminalTarget target, TerminalOptions options, bool interactive,
            Credentials creds = {}) {
    if (!creds.token && creds.user.empty()) creds = user_credentials();
    terminal = std::make_unique<FakeTerminal>(loop, interactive);
    api = std::make_unique<ProxmoxClient>(loop, std::vector<ApiHost>{{"pve1", 8006}}, dialer, creds,
                                          ProxmoxClientOptions{});
    bool connected = false;
    api->connect([&](Error e) {
      ASSERT_TRUE(e.ok()) << e.message();
      connected = true;
    });
    loop.run_until([&] { return connected; });
    session = std::make_unique<TerminalSession>(loop, *api, std::move(target), options, *terminal,
                                                recorder);
    session->start();
  }

  static TerminalTarget lxc200() {
    TerminalTarget t;
    Guest g;
    g.node = "pve1";
    g.vmid = 200;
    g.type = GuestType::lxc;
    g.status = "running";
    t.guest = g;
    t.node = "pve1";
    return t;
  }

  // The termproxy side: wait for the login line, answer.
  void serve_login(std::string answer = "OK") {
    ASSERT_TRUE(
        loop.run_until([&] { return dialer.server_side.got.find('\n') != std::string::npos; }));
    if (!answer.empty()) server_write(answer);
  }
  void server_write(std::string_view s, bool end = false) {
    ByteChain c(s);
    dialer.server->write(c, end);
  }
  // What the server got after the login line.
  std::string after_login() {
    const std::string& g = dialer.server_side.got;
    return g.substr(g.find('\n') + 1);
  }
  bool run_until(const std::function<bool()>& f) {
    Timer guard(loop);
    bool expired = false;
    guard.start(5000, [&] { expired = true; });
    loop.run_until([&] { return f() || expired; });
    return f();
  }

  Loop loop;
  FakeDialer dialer{loop};
  std::unique_ptr<FakeTerminal> terminal;
  std::unique_ptr<ProxmoxClient> api;
  Recorder recorder;
  std::unique_ptr<TerminalSession> session;
};

// --- tests ------------------------------------------------------------------------------------

TEST_F(TerminalSessionTest, LogsInWaitsForOkThenRawModeSizeAndOutput) {
  make(lxc200(), {}, true);
  serve_login("");
  EXPECT_EQ(dialer.server_side.got, "root@pam:PVEVNC:T1\n");
  EXPECT_EQ(dialer.ws_paths.at(0),
            "/api2/json/nodes/pve1/lxc/200/vncwebsocket?port=5900&vncticket=PVEVNC%3AT1");
  EXPECT_FALSE(recorder.connected);
  EXPECT_EQ(terminal->raw_entered, 0) << "no raw mode before OK";
  server_write("OKct200$ ");
  ASSERT_TRUE(run_until([&] { return terminal->screen_side.got == "ct200$ "; }));
  EXPECT_TRUE(recorder.connected);
  EXPECT_TRUE(terminal->raw);
  EXPECT_EQ(after_login(), "1:100:30:");
  terminal->type("ls\r");
  ASSERT_TRUE(run_until([&] { return after_login() == "1:100:30:0:3:ls\r"; }));
}

TEST_F(TerminalSessionTest, TildeDotEndsAndRestoresTheTerminal) {
  make(lxc200(), {}, true);
  serve_login();
  ASSERT_TRUE(run_until([&] { return recorder.connected; }));
  terminal->type("echo a\r~.");
  ASSERT_TRUE(run_until([&] { return recorder.closed; }));
  EXPECT_EQ(recorder.end.reason, TerminalCloseReason::user_ended);
  EXPECT_FALSE(terminal->raw);
  EXPECT_EQ(after_login(), "1:100:30:0:7:echo a\r");
  EXPECT_EQ(recorder.end.bytes_in, 7u);
}

TEST_F(TerminalSessionTest, TildeQuestionShowsHelpLocallyAndTildeTildeSendsOne) {
  make(lxc200(), {}, true);
  serve_login();
  ASSERT_TRUE(run_until([&] { return recorder.connected; }));
  terminal->type("~?~~x");
  ASSERT_TRUE(run_until([&] { return after_login().find("0:2:~x") != std::string::npos; }));
  ASSERT_TRUE(run_until(
      [&] { return terminal->screen_side.got.find("Supported escape") != std::string::npos; }));
  EXPECT_EQ(after_login().find('?'), std::string::npos) << "the help request is not sent";
}

TEST_F(TerminalSessionTest, ResizeIsSentOnChangeOnly) {
  make(lxc200(), {}, true);
  serve_login();
  ASSERT_TRUE(run_until([&] { return recorder.connected; }));
  ASSERT_TRUE(terminal->resize);
  terminal->resize();  // same size: nothing
  terminal->size_now = TerminalSize{120, 40};
  terminal->resize();
  ASSERT_TRUE(run_until([&] { return after_login() == "1:100:30:1:120:40:"; }));
}

TEST_F(TerminalSessionTest, KeepaliveSendsTwo) {
  TerminalOptions o;
  o.keepalive_ms = 20;
  make(lxc200(), o, true);
  serve_login();
  ASSERT_TRUE(run_until([&] { return after_login().find("22") != std::string::npos; }));
}

TEST_F(TerminalSessionTest, PipeModeSendsStdinAsIsAndEndsWhenQuiet) {
  TerminalOptions o;
  o.idle_exit_ms = 50;
  make(lxc200(), o, false);
  serve_login();
  ASSERT_TRUE(run_until([&] { return recorder.connected; }));
  terminal->type("~.uname\n", true);  // no escapes without a terminal
  ASSERT_TRUE(run_until([&] { return recorder.closed; }));
  EXPECT_EQ(recorder.end.reason, TerminalCloseReason::input_done);
  EXPECT_EQ(terminal->raw_entered, 0);
  EXPECT_EQ(after_login(), "0:8:~.uname\n") << "no size without a terminal";
  EXPECT_EQ(recorder.end.bytes_in, 8u);
}

TEST_F(TerminalSessionTest, RemoteCloseEndsWithEverythingWritten) {
  make(lxc200(), {}, false);
  serve_login("OKbye\r\n");
  ASSERT_TRUE(run_until([&] { return recorder.connected; }));
  server_write("logout\r\n", true);
  ASSERT_TRUE(run_until([&] { return recorder.closed; }));
  EXPECT_EQ(recorder.end.reason, TerminalCloseReason::remote_closed);
  EXPECT_EQ(terminal->screen_side.got, "bye\r\nlogout\r\n");
  EXPECT_EQ(recorder.end.bytes_out, 13u);
}

TEST_F(TerminalSessionTest, GarbageInsteadOfOkIsRefused) {
  make(lxc200(), {}, true);
  serve_login("HTTP/1.1 500");
  ASSERT_TRUE(run_until([&] { return recorder.closed; }));
  EXPECT_EQ(recorder.end.reason, TerminalCloseReason::error);
  EXPECT_EQ(recorder.end.error.code(), Errc::console_refused);
  EXPECT_EQ(terminal->raw_entered, 0);
}

TEST_F(TerminalSessionTest, NoOkInTimeIsATimeout) {
  TerminalOptions o;
  o.ok_timeout_ms = 50;
  make(lxc200(), o, true);
  serve_login("");
  ASSERT_TRUE(run_until([&] { return recorder.closed; }));
  EXPECT_EQ(recorder.end.error.code(), Errc::timeout);
}

TEST_F(TerminalSessionTest, TokenRefusedBeforeOkSaysSoAndSuggestsAUser) {
  Credentials c;
  c.token = ApiToken{"root@pam", "pvebridge", "secret"};
  dialer.replies["GET /api2/json/version"] = ok(R"({"data":{"version":"9.0.3"}})");
  make(lxc200(), {}, true, c);
  ASSERT_TRUE(run_until([&] { return dialer.server_side.got.find('\n') != std::string::npos; }));
  EXPECT_EQ(dialer.server_side.got, "root@pam:PVEVNC:T1\n");  // the reply's user field
  server_write("", true);
  ASSERT_TRUE(run_until([&] { return recorder.closed; }));
  EXPECT_EQ(recorder.end.error.code(), Errc::console_refused);
  EXPECT_NE(recorder.end.error.message().find("API token"), std::string::npos);
  EXPECT_NE(recorder.end.error.message().find("--user"), std::string::npos);
}

TEST_F(TerminalSessionTest, SerialPortDefaultsToTheFirstInTheConfig) {
  TerminalTarget t = lxc200();
  t.guest->type = GuestType::qemu;
  t.guest->vmid = 100;
  make(t, {}, false);
  serve_login();
  ASSERT_TRUE(run_until([&] { return recorder.connected; }));
  EXPECT_EQ(dialer.rest_log.back(), "POST /api2/json/nodes/pve1/qemu/100/termproxy serial=serial1");
}

TEST_F(TerminalSessionTest, MissingSerialPortSaysHowToAddOne) {
  TerminalTarget t = lxc200();
  t.guest->type = GuestType::qemu;
  t.guest->vmid = 100;
  TerminalOptions o;
  o.serial = 0;
  make(t, o, false);
  ASSERT_TRUE(run_until([&] { return recorder.closed; }));
  EXPECT_EQ(recorder.end.error.code(), Errc::console_refused);
  EXPECT_NE(recorder.end.error.message().find("qm set 100 -serial0 socket"), std::string::npos);
}

TEST_F(TerminalSessionTest, StoppedGuestWithoutStartIsNotRunning) {
  TerminalTarget t = lxc200();
  t.guest->vmid = 201;
  t.guest->status = "stopped";
  make(t, {}, false);
  ASSERT_TRUE(run_until([&] { return recorder.closed; }));
  EXPECT_EQ(recorder.end.error.code(), Errc::not_running);
  EXPECT_NE(recorder.end.error.message().find("--start"), std::string::npos);
}

TEST_F(TerminalSessionTest, NodeShellUsesTheNodePaths) {
  TerminalTarget t;
  t.node = "pve1";
  make(t, {}, false);
  serve_login();
  ASSERT_TRUE(run_until([&] { return recorder.connected; }));
  EXPECT_EQ(dialer.ws_paths.at(0),
            "/api2/json/nodes/pve1/vncwebsocket?port=5900&vncticket=PVEVNC%3AT1");
}

TEST_F(TerminalSessionTest, InterruptRestoresTheTerminal) {
  make(lxc200(), {}, true);
  serve_login();
  ASSERT_TRUE(run_until([&] { return recorder.connected; }));
  EXPECT_TRUE(terminal->raw);
  session->interrupt(SIGTERM);
  ASSERT_TRUE(run_until([&] { return recorder.closed; }));
  EXPECT_EQ(recorder.end.reason, TerminalCloseReason::interrupted);
  EXPECT_EQ(recorder.end.signal, SIGTERM);
  EXPECT_FALSE(terminal->raw);
}

TEST_F(TerminalSessionTest, OutputReaderLeavingEndsQuietly) {
  make(lxc200(), {}, false);
  serve_login();
  ASSERT_TRUE(run_until([&] { return recorder.connected; }));
  terminal->screen->close(CloseMode::Abort);  // `| head -1` exits
  server_write("more output\r\n");
  ASSERT_TRUE(run_until([&] { return recorder.closed; }));
  EXPECT_EQ(recorder.end.reason, TerminalCloseReason::user_ended);
  EXPECT_TRUE(recorder.end.error.ok());
}

TEST_F(TerminalSessionTest, SlowScreenPausesTheWebSocketAndMemoryStaysBounded) {
  TerminalOptions o;
  o.high_mark = 64 * 1024;
  o.low_mark = 16 * 1024;
  make(lxc200(), o, false);
  serve_login();
  ASSERT_TRUE(run_until([&] { return recorder.connected; }));
  terminal->screen->read_disable(true);  // nobody reads the screen
  std::string chunk(16 * 1024, 'y');
  for (int i = 0; i < 64; ++i) server_write(chunk);  // 1 MiB
  ASSERT_TRUE(run_until([&] { return !dialer.client_ws->reading_enabled(); }));
  for (int i = 0; i < 50; ++i) loop.run_until([] { return true; });
  EXPECT_LE(terminal->output().pending_write_bytes(), o.high_mark + 64 * 1024);
  EXPECT_LT(recorder.end.bytes_out, 512u * 1024) << "the rest waits in the server's pipe";
  terminal->screen->read_disable(false);
  ASSERT_TRUE(run_until([&] { return terminal->screen_side.got.size() == 1024u * 1024; }));
}

}  // namespace
}  // namespace pvb
