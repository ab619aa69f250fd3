// HTTP CONNECT proxies end to end: the real pvebridge through test-connect-proxy (ours: it reports
// every request it sees) and through Debian's tinyproxy (an independent implementation; skipped
// when it is not installed), to the real mock-pveproxy.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/integration/mock_fixture.h"

namespace pvb::testing {
namespace {

// test-connect-proxy as a child; its stdout says what it saw.
class TestProxy {
 public:
  explicit TestProxy(std::vector<std::string> flags = {}) {
    std::vector<std::string> argv = {PVB_TEST_CONNECT_PROXY_PATH, "--listen", "127.0.0.1:0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    proc_ = std::make_unique<ChildProcess>(argv, base_env());
    auto line = proc_->read_line(10000);
    if (!line) {
      ADD_FAILURE() << "test-connect-proxy did not start: " << proc_->stderr_text();
      return;
    }
    port_ = std::atoi(json_get(*line, "port").value_or("0").c_str());
  }
  bool ok() const { return port_ > 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The next request line it printed that CONNECTs to `target`.
  std::optional<std::string> next_connect(const std::string& target, int timeout_ms = 10000) {
    return proc_->wait_for_line("\"target\":\"" + target + "\"", timeout_ms);
  }

 private:
  std::unique_ptr<ChildProcess> proc_;
  int port_ = 0;
};

// A port that speaks plain HTTP (here: the proxy's own, given as --host by mistake) answers the
// TLS handshake in HTTP. Said as what it means, with both TLS backends.
TEST(PlainHttpPort, IsNamedAsSuch) {
  TestProxy proxy;
  ASSERT_TRUE(proxy.ok());
  const std::string host = proxy.url().substr(std::string("http://").size());
  for (const char* backend : {"openssl", "mbedtls"}) {
    SCOPED_TRACE(backend);
    auto r = run_pvebridge({"list", "--host", host, "--insecure", "--tls-backend", backend},
                           base_env({{"PVE_API_TOKEN", "root@pam!t=secret"}}));
    EXPECT_EQ(r.exit_code, 7) << r.err;
    EXPECT_NE(r.err.find("error: " + host + " speaks plain HTTP, not TLS: is it Proxmox's 8006?"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("wrong version number"), std::string::npos) << r.err;
  }
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

// tinyproxy in the foreground with its own configuration (never the system service).
class Tinyproxy {
 public:
  static constexpr const char* kProgram = "/usr/bin/tinyproxy";
  Tinyproxy(const std::string& dir, const std::string& extra_config = "") {
    port_ = free_port();
    const std::string conf = dir + "/tinyproxy-" + std::to_string(port_) + ".conf";
    const std::string text = "Port " + std::to_string(port_) +
                             "\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nAllow 127.0.0.1\n"
                             "LogLevel Info\n" +
                             extra_config;
    EXPECT_TRUE(write_new_private_file(conf, text).ok());
    proc_ = std::make_unique<ChildProcess>(std::vector<std::string>{kProgram, "-d", "-c", conf},
                                           base_env());
    ok_ = proc_->wait_for_line("Accepting connections", 10000).has_value();
    if (!ok_) ADD_FAILURE() << "tinyproxy did not start: " << proc_->stderr_text();
  }
  bool ok() const { return ok_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::optional<std::string> wait_for(const std::string& needle) {
    return proc_->wait_for_line(needle, 10000);
  }

 private:
  std::unique_ptr<ChildProcess> proc_;
  int port_ = 0;
  bool ok_ = false;
};

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = PrivateDir::create("pvb-proxy-e2e");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string path(const std::string& name) const { return dir_->path() + "/" + name; }
  std::vector<std::string> args(const MockPveproxy& m, std::vector<std::string> extra) {
    std::vector<std::string> a = {"--host", m.info().host(), "--fingerprint", m.info().fingerprint};
    a.insert(a.begin(), extra.begin(), extra.end());
    return a;
  }
  std::map<std::string, std::string> env(const MockPveproxy& m,
                                         std::map<std::string, std::string> extra = {}) {
    extra["PVE_API_TOKEN"] = m.info().api_token;
    return base_env(extra);
  }
  // A console through the proxy: test-viewer must see web01's desktop.
  void expect_console(const RunResult& r) {
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json_get(read_file(path("viewer.json")), "name"), "web01");
    EXPECT_EQ(json_get(read_file(path("viewer.json")), "nonblank"), "true");
  }
  std::vector<std::string> console_args(const MockPveproxy& m, std::vector<std::string> extra) {
    std::vector<std::string> a = {"connect", "web01", "--json", "--viewer", test_viewer_path()};
    a.insert(a.end(), extra.begin(), extra.end());
    return args(m, a);
  }
  std::map<std::string, std::string> viewer_env(const MockPveproxy& m,
                                                std::map<std::string, std::string> extra = {}) {
    extra["PVB_TEST_VIEWER_OUT"] = path("viewer.json");
    return env(m, extra);
  }

  std::optional<PrivateDir> dir_;
};

TEST_F(ProxyTest, TheApiAndTheConsoleGoThroughTheProxy) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  TestProxy proxy;
  ASSERT_TRUE(proxy.ok());
  auto r = run_pvebridge(console_args(m, {"--proxy", proxy.url(), "--verbose"}), viewer_env(m));
  expect_console(r);
  // The REST calls and the WebSocket: one tunnel to the mock (the kept-alive connection, handed
  // over to the WebSocket).
  EXPECT_NE(r.err.find("handed over"), std::string::npos) << r.err;
  auto api = proxy.next_connect(m.info().host());
  ASSERT_TRUE(api);
  EXPECT_EQ(json_get(*api, "method"), "CONNECT");
  EXPECT_EQ(json_get(*api, "authorization"), "null");
  EXPECT_FALSE(proxy.next_connect(m.info().host(), 500)) << "a second tunnel was opened";
}

TEST_F(ProxyTest, HttpsProxyFromTheEnvironmentWithCredentials) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  TestProxy proxy({"--credentials", "alice:s3cr:et"});
  ASSERT_TRUE(proxy.ok());
  const std::string with_credentials =
      "http://alice:s3cr%3Aet@127.0.0.1:" + proxy.url().substr(proxy.url().rfind(':') + 1);
  auto r =
      run_pvebridge(args(m, {"list", "--verbose"}), env(m, {{"https_proxy", with_credentials}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto seen = proxy.next_connect(m.info().host());
  ASSERT_TRUE(seen);
  EXPECT_EQ(json_get(*seen, "authorization"), "Basic YWxpY2U6czNjcjpldA==");
  EXPECT_NE(r.err.find("HTTP proxy 127.0.0.1:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("from https_proxy"), std::string::npos) << r.err;
  for (const char* secret : {"s3cr", "YWxpY2U6czNjcjpldA"}) {
    EXPECT_EQ(r.err.find(secret), std::string::npos) << r.err;
    for (const auto& l : r.out) EXPECT_EQ(l.find(secret), std::string::npos) << l;
  }
}

TEST_F(ProxyTest, RefusedCredentialsExitSevenWithoutShowingThem) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  TestProxy proxy({"--credentials", "alice:right"});
  ASSERT_TRUE(proxy.ok());
  const std::string port = proxy.url().substr(proxy.url().rfind(':') + 1);
  auto r = run_pvebridge(args(m, {"list"}),
                         env(m, {{"HTTPS_PROXY", "http://alice:wrong@127.0.0.1:" + port}}));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("407 Proxy Authentication Required"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("credentials were refused"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("wrong"), std::string::npos) << r.err;
  auto none = run_pvebridge(args(m, {"list"}), env(m, {{"https_proxy", proxy.url()}}));
  EXPECT_EQ(none.exit_code, 7) << none.err;
  EXPECT_NE(none.err.find("it wants credentials"), std::string::npos) << none.err;
}

TEST_F(ProxyTest, ARefusingProxyExitsSevenWithItsStatusLine) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  TestProxy proxy({"--refuse", "403"});
  ASSERT_TRUE(proxy.ok());
  auto r = run_pvebridge(args(m, {"list", "--proxy", proxy.url()}), env(m));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("refused CONNECT to " + m.info().host() + ": 403 Refused By Test"),
            std::string::npos)
      << r.err;
}

TEST_F(ProxyTest, TheConfigFilesProxyCarriesTheConsoleAfterTheEnvironments) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  TestProxy proxy;
  ASSERT_TRUE(proxy.ok());
  TestProxy refusing({"--refuse", "403"});
  ASSERT_TRUE(refusing.ok());
  const std::string config = path("config");
  ASSERT_TRUE(write_new_private_file(config, "[profile lab]\nproxy = " + proxy.url() + "\n").ok());
  auto r = run_pvebridge(console_args(m, {"--config", config, "--profile", "lab", "--verbose"}),
                         viewer_env(m));
  expect_console(r);
  EXPECT_TRUE(proxy.next_connect(m.info().host()));
  // The console's WebSocket too: the REST calls' tunnel is handed over to it.
  EXPECT_NE(r.err.find("handed over"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(from the config file)"), std::string::npos) << r.err;

  // https_proxy beats the file's proxy (which would refuse everything).
  const std::string refusing_config = path("refusing-config");
  ASSERT_TRUE(write_new_private_file(refusing_config, "proxy = " + refusing.url() + "\n").ok());
  auto env_wins = run_pvebridge(args(m, {"list", "--config", refusing_config}),
                                env(m, {{"https_proxy", proxy.url()}}));
  EXPECT_EQ(env_wins.exit_code, 0) << env_wins.err;
  auto file_used = run_pvebridge(args(m, {"list", "--config", refusing_config}), env(m));
  EXPECT_EQ(file_used.exit_code, 7) << file_used.err;
  EXPECT_NE(file_used.err.find("403 Refused By Test"), std::string::npos) << file_used.err;
}

TEST_F(ProxyTest, NoProxyHostsGoDirect) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  TestProxy proxy({"--refuse", "403"});  // whatever goes through it fails
  ASSERT_TRUE(proxy.ok());
  auto r = run_pvebridge(console_args(m, {}),
                         viewer_env(m, {{"https_proxy", proxy.url()}, {"no_proxy", "127.0.0.1"}}));
  expect_console(r);
  auto star = run_pvebridge(args(m, {"list", "--proxy", proxy.url()}),
                            env(m, {{"NO_PROXY", "example.com,*"}}));
  EXPECT_EQ(star.exit_code, 0) << star.err;
}

TEST_F(ProxyTest, AProxyThatIsNotThereIsANetworkError) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge(args(m, {"list", "--proxy", "http://127.0.0.1:1"}), env(m));
  EXPECT_EQ(r.exit_code, 7) << r.err;
  EXPECT_NE(r.err.find("HTTP proxy"), std::string::npos) << r.err;
}

TEST_F(ProxyTest, ProxyCredentialsAreNeverTakenOnTheCommandLine) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge(args(m, {"list", "--proxy", "http://alice:pw@127.0.0.1:3128"}), env(m));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("https_proxy"), std::string::npos) << r.err;
  auto socks = run_pvebridge(args(m, {"list"}), env(m, {{"https_proxy", "socks5://127.0.0.1:1"}}));
  EXPECT_EQ(socks.exit_code, 2) << socks.err;
}

TEST_F(ProxyTest, ThroughTinyproxy) {
  if (access(Tinyproxy::kProgram, X_OK) != 0) GTEST_SKIP() << "tinyproxy is not installed";
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  Tinyproxy tiny(dir_->path());
  ASSERT_TRUE(tiny.ok());
  auto r = run_pvebridge(console_args(m, {"--proxy", tiny.url()}), viewer_env(m));
  expect_console(r);
  EXPECT_TRUE(tiny.wait_for("CONNECT " + m.info().host()));
}

TEST_F(ProxyTest, ThroughTinyproxyWithBasicAuth) {
  if (access(Tinyproxy::kProgram, X_OK) != 0) GTEST_SKIP() << "tinyproxy is not installed";
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  Tinyproxy tiny(dir_->path(), "BasicAuth alice s3cret\n");
  ASSERT_TRUE(tiny.ok());
  const std::string port = tiny.url().substr(tiny.url().rfind(':') + 1);
  auto r = run_pvebridge(console_args(m, {}),
                         viewer_env(m, {{"https_proxy", "http://alice:s3cret@127.0.0.1:" + port}}));
  expect_console(r);
  auto wrong = run_pvebridge(args(m, {"list"}),
                             env(m, {{"https_proxy", "http://alice:nope@127.0.0.1:" + port}}));
  EXPECT_EQ(wrong.exit_code, 7) << wrong.err;
  // tinyproxy answers 401 where RFC 9110 says 407; either way the user learns why.
  EXPECT_NE(wrong.err.find("refused CONNECT"), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find("credentials were refused"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("nope"), std::string::npos) << wrong.err;
}

}  // namespace
}  // namespace pvb::testing
