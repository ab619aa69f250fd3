// Network faults through the real programs: nothing listening, no such name, every step that can
// hang (TCP connect, TLS handshake, a request, vncproxy, the WebSocket upgrade, keepalive), resets
// in the TLS handshake, in the upgrade and at seeded offsets of the stream, TLS alerts, a
// renegotiation request, a certificate that changes between two connections, and writes chopped
// small. Each must end pvebridge with one clear line and its exit code, within the bound.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <ostream>

#include "engine/core/random.h"
#include "tests/integration/fault_helpers.h"

namespace pvb::testing {
namespace {

class NetworkFault : public FaultTest {};

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// A loopback port nothing listens on.
int closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

std::map<std::string, std::string> any_token() {
  return base_env({{"PVE_API_TOKEN", "root@pam!pvebridge=00000000-0000-0000-0000-000000000000"}});
}

TEST_F(NetworkFault, ConnectRefused) {
  const std::string host = "127.0.0.1:" + std::to_string(closed_port());
  Outcome o = run_bounded({"list", "--host", host, "--insecure"}, any_token());
  record("connect refused", "--host 127.0.0.1:<closed port>", o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  EXPECT_TRUE(contains(
      o.line(), "error: GET /api2/json/version: connect to " + host + ": connection refused"))
      << o.err;
}

TEST_F(NetworkFault, DnsFailure) {
  Outcome o = run_bounded(
      {"list", "--host", "pve.nosuchname.invalid", "--insecure", "--timeout", "5"}, any_token());
  record("DNS failure", "--host pve.nosuchname.invalid", o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  // Where no name server answers at all, the lookup itself runs into the timeout.
  EXPECT_TRUE(contains(o.line(), "cannot resolve pve.nosuchname.invalid") ||
              contains(o.line(), "could not connect (TCP and TLS handshakes) within 5 s"))
      << o.err;
}

TEST_F(NetworkFault, ConnectTimeoutOnABlackhole) {
  Blackhole hole;
  Outcome o = run_bounded({"list", "--host", "127.0.0.1:" + std::to_string(hole.port()),
                           "--insecure", "--timeout", "1"},
                          any_token());
  record("TCP connect timeout", "a listener with a full accept queue (SYNs dropped), --timeout 1",
         o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  EXPECT_TRUE(contains(o.line(), "could not connect (TCP and TLS handshakes) within 1 s")) << o.err;
}

TEST_F(NetworkFault, TlsHandshakeTimeoutOnASilentServer) {
  SilentServer silent;
  Outcome o = run_bounded({"list", "--host", "127.0.0.1:" + std::to_string(silent.port()),
                           "--insecure", "--timeout", "1"},
                          any_token());
  record("TLS handshake timeout", "TCP accepted, no ServerHello ever, --timeout 1", o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  EXPECT_TRUE(contains(o.line(), "could not connect (TCP and TLS handshakes) within 1 s")) << o.err;
}

// A step that never gets an answer from the mock, with --timeout 1.
struct HangingStep {
  const char* name;
  const char* fault;
  const char* expected;
};

void PrintTo(const HangingStep& s, std::ostream* os) {
  *os << s.name << " (--fault " << s.fault << ")";
}

class HangingStepTest : public NetworkFault, public ::testing::WithParamInterface<HangingStep> {};

TEST_P(HangingStepTest, TimesOut) {
  const HangingStep& step = GetParam();
  MockPveproxy m({"--fault", step.fault});
  ASSERT_TRUE(m.ok());
  Outcome o =
      run_bounded(args(m, {"connect", "web01", "--timeout", "1", "--no-viewer"}), token_env(m));
  record(std::string(step.name) + " timeout",
         std::string("--fault ") + step.fault + ", --timeout 1", o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  EXPECT_TRUE(contains(o.line(), step.expected)) << o.err;
  expect_bounded_children_memory();
}

INSTANTIATE_TEST_SUITE_P(
    Steps, HangingStepTest,
    // connect's first request is the guest list (with a token it also proves the token).
    ::testing::Values(HangingStep{"API request", "no_reply=/cluster/resources",
                                  "GET /api2/json/cluster/resources: no response within 1 s"},
                      HangingStep{
                          "vncproxy", "no_reply=/vncproxy",
                          "POST /api2/json/nodes/pve1/qemu/100/vncproxy: no response within 1 s"},
                      HangingStep{"WebSocket upgrade", "no_reply=/vncwebsocket",
                                  "WebSocket: handshake not done within 1000 ms"}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

TEST_F(NetworkFault, KeepaliveTimeoutOnAServerThatStopsAnswering) {
  MockPveproxy m({"--fault", "raw_after_upgrade=silent"});
  ASSERT_TRUE(m.ok());
  std::vector<std::string> a = args(m, {"connect", "web01", "--keepalive", "1"});
  for (const std::string& v : viewer({"--hold"})) a.push_back(v);
  const int64_t start = now_ms();
  std::unique_ptr<ChildProcess> p = start_pvebridge(a, token_env(m));
  Outcome o = finish_bounded(*p, start);
  record("keepalive timeout", "--fault raw_after_upgrade=silent (pings unanswered), --keepalive 1",
         o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  EXPECT_TRUE(contains(o.line(), "the server did not answer the keepalive ping within 1 s"))
      << o.err;
  EXPECT_TRUE(process_group_gone(p->pid())) << "the viewer outlived pvebridge";
}

TEST_F(NetworkFault, ResetInTheTlsHandshake) {
  MockPveproxy m({"--fault", "reset_after=0"});
  ASSERT_TRUE(m.ok());
  Outcome o = run_bounded(args(m, {"list"}), token_env(m));
  record("reset mid TLS handshake", "--fault reset_after=0 (RST instead of the ServerHello)", o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  EXPECT_TRUE(contains(o.line(), "connection reset by peer")) << o.err;
}

TEST_F(NetworkFault, ResetInTheWebsocketUpgrade) {
  MockPveproxy m({"--fault", "reset_upgrade"});
  ASSERT_TRUE(m.ok());
  Outcome o = run_bounded(args(m, {"connect", "web01", "--no-viewer"}), token_env(m));
  record("reset mid WebSocket handshake", "--fault reset_upgrade (RST instead of the 101)", o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  EXPECT_TRUE(contains(o.line(), "console WebSocket: connection to")) << o.err;
  EXPECT_TRUE(contains(o.line(), "connection reset by peer")) << o.err;
}

TEST_F(NetworkFault, ResetAtSeededOffsetsOfEveryConnection) {
  // Offsets over the whole life of a console: in the API connection's TLS handshake and replies
  // (the first few KiB), then in the console WebSocket's handshake and stream (the framebuffer
  // is 1.2 MB). Every connection is reset once the mock has sent that many bytes on it.
  SeededRandom rng(20240606);
  std::vector<uint64_t> offsets = {1, 700, 2500, 6000};
  for (int i = 0; i < 4; ++i) offsets.push_back(10000 + rng.next_u32() % 1200000);
  for (uint64_t offset : offsets) {
    SCOPED_TRACE("reset_after=" + std::to_string(offset));
    MockPveproxy m({"--fault", "reset_after=" + std::to_string(offset)});
    ASSERT_TRUE(m.ok());
    // Every console is reset too, so a reconnect would flap for ever: this is about the loss.
    std::vector<std::string> a = args(m, {"connect", "web01", "--json", "--reconnect", "0"});
    for (const std::string& v : viewer({"--hold"})) a.push_back(v);
    const int64_t start = now_ms();
    std::unique_ptr<ChildProcess> p = start_pvebridge(a, token_env(m));
    Outcome o = finish_bounded(*p, start);
    record("reset at offset " + std::to_string(offset),
           "--fault reset_after=" + std::to_string(offset) + " (seeded)", o);
    EXPECT_EQ(o.exit_code, 7) << o.err;
    std::string message;
    for (const std::string& l : o.out) {
      if (json_get(l, "event") == "error") message = json_get(l, "message").value_or("");
    }
    EXPECT_TRUE(contains(message, "reset") || contains(message, "closed")) << message;
    for (const std::string& l : o.out) {
      if (json_get(l, "event") == "listening") {
        EXPECT_FALSE(file_exists(json_get(l, "vv_file").value_or("")));
      }
    }
    EXPECT_TRUE(process_group_gone(p->pid())) << "the viewer outlived pvebridge";
  }
  expect_bounded_children_memory();
}

TEST_F(NetworkFault, TlsAlertInAnswerToTheClientHello) {
  MockPveproxy m({"--fault", "tls_alert=handshake"});
  ASSERT_TRUE(m.ok());
  Outcome o = run_bounded(args(m, {"list"}), token_env(m));
  record("TLS alert in the handshake", "--fault tls_alert=handshake", o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  EXPECT_TRUE(contains(o.line(), "TLS handshake failed: received fatal alert handshake_failure"))
      << o.err;
}

TEST_F(NetworkFault, TlsAlertAfterTheRequest) {
  MockPveproxy m({"--fault", "tls_alert=request"});
  ASSERT_TRUE(m.ok());
  Outcome o = run_bounded(args(m, {"list"}), token_env(m));
  record("TLS alert mid-connection", "--fault tls_alert=request", o);
  EXPECT_EQ(o.exit_code, 7) << o.err;
  EXPECT_TRUE(contains(o.line(), "TLS connection failed: received fatal alert internal_error"))
      << o.err;
}

TEST_F(NetworkFault, RenegotiationIsRefused) {
  for (const char* backend : {"openssl", "mbedtls"}) {
    SCOPED_TRACE(backend);
    MockPveproxy m({"--fault", "tls_renegotiate"});
    ASSERT_TRUE(m.ok());
    Outcome o = run_bounded(args(m, {"list", "--tls-backend", backend}), token_env(m));
    record(std::string("TLS renegotiation (") + backend + ")", "--fault tls_renegotiate", o);
    EXPECT_EQ(o.exit_code, 7) << o.err;
    EXPECT_TRUE(contains(o.line(), "received fatal alert handshake_failure")) << o.err;
    // What the server saw: our refusal (a no_renegotiation alert), not a new ClientHello.
    EXPECT_TRUE(wait_for_stderr(m.process(), "the client refused the renegotiation"))
        << m.process().stderr_text();
  }
}

TEST_F(NetworkFault, CertificateChangesBetweenTwoConnections) {
  // The API connection gets the pinned certificate, the console WebSocket another one: it would
  // reuse the API's kept-alive connection, but the mock closes that one as the upgrade arrives
  // (close_reused), so the upgrade goes again on a second connection.
  MockPveproxy m({"--fault", "cert_change_after=1", "--fault", "close_reused=vncwebsocket"});
  ASSERT_TRUE(m.ok());
  Outcome o = run_bounded(args(m, {"connect", "web01", "--no-viewer"}), token_env(m));
  record("certificate changes between calls",
         "--fault cert_change_after=1 --fault close_reused=vncwebsocket, --fingerprint", o);
  EXPECT_EQ(o.exit_code, 4) << o.err;
  EXPECT_TRUE(contains(o.line(), "console WebSocket: certificate fingerprint mismatch: expected " +
                                     m.info().fingerprint))
      << o.err;
  EXPECT_TRUE(wait_for_stderr(m.process(), "served with the second certificate"));
  // Trusting the CA instead: the second certificate comes from another CA, refused as well.
  MockPveproxy again({"--fault", "cert_change_after=1", "--fault", "close_reused=vncwebsocket"});
  ASSERT_TRUE(again.ok());
  Outcome ca = run_bounded({"connect", "web01", "--no-viewer", "--host", again.info().host(),
                            "--ca-file", again.info().ca_file},
                           token_env(again));
  record("certificate changes between calls",
         "--fault cert_change_after=1 --fault close_reused=vncwebsocket, --ca-file", ca);
  EXPECT_EQ(ca.exit_code, 4) << ca.err;
}

TEST_F(NetworkFault, ServerWritesChoppedSmall) {
  // Every server write leaves in 1-byte pieces (coalesced by the kernel into small segments):
  // the console still works, and the picture is whole.
  MockPveproxy m({"--fault", "chunk_writes=1"});
  ASSERT_TRUE(m.ok());
  std::vector<std::string> a = args(m, {"connect", "web01"});
  for (const std::string& v : viewer()) a.push_back(v);
  Outcome o = run_bounded(a, token_env(m));
  record("server writes of 1 byte", "--fault chunk_writes=1", o);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(json_get(report(), "nonblank"), "true") << report();
  EXPECT_EQ(json_get(report(), "name"), "web01") << report();
}

}  // namespace
}  // namespace pvb::testing
