// Hostile servers through the real programs: replies that never end or announce a gibibyte,
// invalid JSON and JSON of the wrong types, a 101 with a wrong accept key, refused tickets, and
// websocket frames a server must never send (masked, RSV bits, 2^63-byte lengths, reserved
// opcodes, ping floods, a Close that is never answered). Each ends pvebridge with one clear line
// and its exit code, within the bound, and no process of the test grows past the memory bound.
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <ostream>
#include <vector>

#include "tests/integration/fault_helpers.h"

namespace pvb::testing {
namespace {

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

struct HostileCase {
  const char* name;
  const char* fault;
  const char* command;  // "list" or "connect" (web01, no viewer)
  int exit_code;
  const char* expected;         // in the line a user reads
  bool password_login = false;  // log in as root@pam instead of the API token
};

void PrintTo(const HostileCase& c, std::ostream* os) {
  *os << c.name << " (--fault " << c.fault << ")";
}

class HostileServer : public FaultTest, public ::testing::WithParamInterface<HostileCase> {};

TEST_P(HostileServer, EndsWithOneClearLine) {
  const HostileCase& c = GetParam();
  MockPveproxy m({"--fault", c.fault});
  ASSERT_TRUE(m.ok());
  std::vector<std::string> a = std::string(c.command) == "list"
                                   ? args(m, {"list"})
                                   : args(m, {"connect", "web01", "--no-viewer"});
  std::map<std::string, std::string> env = token_env(m);
  if (c.password_login) {
    env = base_env({{"PVE_PASSWORD", m.info().password}});
    a.push_back("--user");
    a.push_back(m.info().user);
  }
  Outcome o = run_bounded(a, env);
  record(c.name, std::string("--fault ") + c.fault, o);
  EXPECT_EQ(o.exit_code, c.exit_code) << o.err;
  EXPECT_TRUE(contains(o.line(), c.expected)) << o.line() << "\n" << o.err;
  expect_bounded_children_memory();
}

INSTANTIATE_TEST_SUITE_P(
    Faults, HostileServer,
    ::testing::Values(
        HostileCase{"endless headers", "endless_headers=/version", "list", 7,
                    "GET /api2/json/version: response header has too many fields (over 100)"},
        HostileCase{"endless headers on the upgrade", "endless_headers=/vncwebsocket", "connect", 7,
                    "WebSocket upgrade answer: response header has too many fields"},
        HostileCase{"oversized header line", "oversized_header", "list", 7,
                    "response header too large (over 16384 bytes)"},
        HostileCase{"1 GiB Content-Length", "huge_body=/cluster/resources", "list", 7,
                    "body too large (Content-Length 1073741824, limit 33554432 bytes)"},
        HostileCase{"never-ending chunked body", "endless_chunked=/cluster/resources", "list", 7,
                    "GET /api2/json/cluster/resources: body too large (over 33554432 bytes)"},
        HostileCase{"invalid JSON (version)", "malformed_json=/version", "list", 7,
                    "version reply: invalid JSON"},
        HostileCase{"invalid JSON (vncproxy)", "malformed_json=/vncproxy", "connect", 7,
                    "vncproxy reply: invalid JSON"},
        HostileCase{"wrong JSON types (login)", "wrong_types=/access/ticket", "list", 7,
                    "login reply: field 'ticket' is not a string", true},
        HostileCase{"wrong JSON types (guest list)", "wrong_types=/cluster/resources", "list", 7,
                    "cluster/resources reply: no guest could be read"},
        HostileCase{"wrong JSON types (vncproxy)", "wrong_types=/vncproxy", "connect", 7,
                    "vncproxy reply: field 'port' is not a number"},
        HostileCase{"101 with a wrong Sec-WebSocket-Accept", "bad_ws_accept", "connect", 7,
                    "WebSocket: wrong Sec-WebSocket-Accept"},
        HostileCase{"200 instead of 101", "huge_body=/vncwebsocket", "connect", 8,
                    "websocket upgrade refused: 200 OK"},
        HostileCase{"ticket refused", "reject_ticket", "connect", 8,
                    "websocket upgrade refused: 500 permission denied - invalid PVEVNC ticket"},
        HostileCase{"masked server frame", "raw_after_upgrade=masked_frame", "connect", 7,
                    "WebSocket: masked frame from the server"},
        HostileCase{"frame with RSV bits", "raw_after_upgrade=rsv_bits", "connect", 7,
                    "WebSocket: frame with RSV bits 7 set"},
        HostileCase{"2^63-byte frame length", "raw_after_upgrade=huge_length", "connect", 7,
                    "WebSocket: message of at least 9223372036854775807 bytes exceeds the limit"},
        HostileCase{"reserved opcode", "raw_after_upgrade=reserved_opcode", "connect", 7,
                    "WebSocket: frame with reserved opcode 0x3"}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n;
    });

class HostileWebsocket : public FaultTest {};

TEST_F(HostileWebsocket, PingFloodIsAnsweredThenSilenceTimesOut) {
  // 100,000 pings right after the 101, then nothing (our pings go unanswered): every ping gets
  // its pong without memory growing, and the keepalive ends the session.
  MockPveproxy m({"--fault", "raw_after_upgrade=ping_flood"});
  ASSERT_TRUE(m.ok());
  std::vector<std::string> a = args(m, {"connect", "web01", "--keepalive", "1"});
  for (const std::string& v : viewer({"--hold"})) a.push_back(v);
  const int64_t start = now_ms();
  std::unique_ptr<ChildProcess> p = start_pvebridge(a, token_env(m));
  Outcome o = finish_bounded(*p, start);
  record("ping flood", "--fault raw_after_upgrade=ping_flood (100,000 pings, then silence)", o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  EXPECT_TRUE(contains(o.line(), "the server did not answer the keepalive ping")) << o.err;
  EXPECT_TRUE(process_group_gone(p->pid()));
  expect_bounded_children_memory();
}

TEST_F(HostileWebsocket, CloseThatIsNeverAnsweredStillEnds) {
  // The viewer takes one screen and exits; our Close is ignored and the server keeps the TCP
  // connection open: pvebridge still ends (its close timeout), with the viewer's exit code.
  MockPveproxy m({"--fault", "raw_after_upgrade=never_close"});
  ASSERT_TRUE(m.ok());
  std::vector<std::string> a = args(m, {"connect", "web01"});
  for (const std::string& v : viewer()) a.push_back(v);
  Outcome o = run_bounded(a, token_env(m));
  record("websocket that never closes", "--fault raw_after_upgrade=never_close", o);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(json_get(report(), "name"), "web01") << report();
  EXPECT_TRUE(contains(o.line(), "console closed: the viewer exited")) << o.err;
  EXPECT_TRUE(wait_for_stderr(m.process(), "never_close) ended by client"))
      << m.process().stderr_text();
}

TEST_F(HostileWebsocket, DeafPingFloodDoesNotOutliveTheViewer) {
  // After the 101 the server sends the RFB banner, then pings without end, and never reads a
  // byte: our pongs (and later our Close) cannot leave. The viewer answers the banner and leaves;
  // the bridge must notice and end on its own (default keepalive: no help from it within the
  // bound), with the viewer's leaving as the reason.
  MockPveproxy m({"--fault", "raw_after_upgrade=deaf_ping_flood"});
  ASSERT_TRUE(m.ok());
  const int64_t start = now_ms();
  std::unique_ptr<ChildProcess> p = start_pvebridge(
      args(m, {"connect", "web01", "--no-viewer", "--json", "--passthrough"}), token_env(m));
  std::optional<std::string> listening = find_line(*p, "\"listening\"");
  ASSERT_TRUE(listening) << p->stderr_text();
  LocalClient client(std::stoi(json_get(*listening, "port").value_or("0")));
  ASSERT_TRUE(client.connected());
  uint8_t banner[12];
  size_t got = 0;
  while (got < sizeof banner) {
    const ssize_t n = client.read_some(banner + got, sizeof banner - got);
    ASSERT_GT(n, 0) << "no banner: " << p->stderr_text();
    got += static_cast<size_t>(n);
  }
  EXPECT_EQ(std::string(reinterpret_cast<char*>(banner), sizeof banner), "RFB 003.008\n");
  ASSERT_EQ(::write(client.fd(), "RFB 003.008\n", 12), 12);
  client.close();
  Outcome o = finish_bounded(*p, start);
  record("deaf ping flood", "--fault raw_after_upgrade=deaf_ping_flood; the viewer leaves", o);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  bool client_closed = false;
  for (const std::string& l : o.out) client_closed |= json_get(l, "reason") == "client_closed";
  EXPECT_TRUE(client_closed) << o.err;
  expect_bounded_children_memory();
}

TEST_F(HostileWebsocket, DeafServerEndsByKeepalive) {
  // After the 101 the server sends the RFB banner and then neither reads nor writes: the viewer's
  // bytes fill every buffer on the way (so reading from the viewer stops, and its leaving cannot
  // be seen), our ping is never answered, and our Close can never leave. The keepalive ends the
  // session and the teardown gives up on the Close.
  MockPveproxy m({"--fault", "raw_after_upgrade=deaf"});
  ASSERT_TRUE(m.ok());
  const int64_t start = now_ms();
  std::unique_ptr<ChildProcess> p = start_pvebridge(
      args(m, {"connect", "web01", "--no-viewer", "--json", "--keepalive", "1"}), token_env(m));
  std::optional<std::string> listening = find_line(*p, "\"listening\"");
  ASSERT_TRUE(listening) << p->stderr_text();
  LocalClient client(std::stoi(json_get(*listening, "port").value_or("0")));
  ASSERT_TRUE(client.connected());
  // Write until nothing more is taken (the bridge stopped reading us), without blocking.
  std::vector<uint8_t> chunk(64 * 1024, 'x');
  size_t refused = 0;
  while (refused < 50 && !p->wait(0).has_value()) {
    const ssize_t n = ::send(client.fd(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      refused = 0;
    } else {
      ++refused;
      ::usleep(10 * 1000);
    }
  }
  client.close();
  Outcome o = finish_bounded(*p, start);
  record("deaf server", "--fault raw_after_upgrade=deaf, --keepalive 1; the viewer writes", o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  bool keepalive = false;
  for (const std::string& l : o.out) keepalive |= json_get(l, "reason") == "keepalive_timeout";
  EXPECT_TRUE(keepalive) << o.err;
  expect_bounded_children_memory();
}

TEST_F(HostileWebsocket, SilentGuestKeepsTheBridgeUntilTheViewerLeaves) {
  // The VM side never says a word (stall_ws) but the server answers pings: nothing is wrong
  // with the connection, so the bridge stays until the viewer gives up.
  MockPveproxy m({"--fault", "stall_ws"});
  ASSERT_TRUE(m.ok());
  const int64_t start = now_ms();
  std::unique_ptr<ChildProcess> p = start_pvebridge(
      args(m, {"connect", "web01", "--no-viewer", "--json", "--keepalive", "1", "--passthrough"}),
      token_env(m));
  std::optional<std::string> listening = find_line(*p, "\"listening\"");
  ASSERT_TRUE(listening) << p->stderr_text();
  LocalClient client(std::stoi(json_get(*listening, "port").value_or("0")));
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(find_line(*p, "client_connected"));
  // Two keepalive rounds pass (an observation window, not a wait for an event): the pings are
  // answered, nothing arrives, the session stays.
  uint8_t buf[16];
  EXPECT_EQ(client.read_some(buf, sizeof buf, 2500), -1) << "the guest said something";
  EXPECT_FALSE(p->wait(0).has_value()) << "the bridge ended by itself: " << p->stderr_text();
  client.close();
  Outcome o = finish_bounded(*p, start);
  record("guest never answers", "--fault stall_ws; the viewer leaves after 2.5 s", o);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  bool client_closed = false;
  for (const std::string& l : o.out) client_closed |= json_get(l, "reason") == "client_closed";
  EXPECT_TRUE(client_closed);
}

}  // namespace
}  // namespace pvb::testing
