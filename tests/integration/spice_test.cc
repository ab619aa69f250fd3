// SPICE consoles end to end (issue 16): pvebridge against mock-pveproxy, whose spiceproxy
// (its "port 3128") checks tickets as Proxmox's does and, without QEMU, echoes every byte after
// its 200. The test plays remote-viewer's part on the wire: HTTP CONNECT through the relay.
// The real remote-viewer on a real QEMU is tests/interop/spice_remote_viewer_interop.py.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "frontends/cli/exit_codes.h"
#include "tests/integration/mock_fixture.h"

namespace pvb::testing {
namespace {

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

// A plain TCP client on 127.0.0.1, as remote-viewer is to its proxy.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }
  void send(const std::string& s) {
    ASSERT_EQ(::send(fd_, s.data(), s.size(), 0), ssize_t(s.size()));
  }
  // Reads until `n` bytes, EOF or 5 s.
  std::string read(size_t n) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t got = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got <= 0) break;
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }
  // Reads an HTTP reply head (through the blank line).
  std::string read_head() {
    std::string out;
    while (out.find("\r\n\r\n") == std::string::npos) {
      std::string c = read(1);
      if (c.empty()) break;
      out += c;
    }
    return out;
  }
  void shut() {
    close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// The value of `key` in a .vv file's text.
std::string vv_value(const std::string& text, const std::string& key) {
  size_t at = text.find("\n" + key + "=");
  if (at == std::string::npos) return "";
  at += key.size() + 2;
  return text.substr(at, text.find('\n', at) - at);
}

class SpiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mock_.ok()); }
  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) {
    extra["PVE_API_TOKEN"] = mock_.info().api_token;
    return base_env(extra);
  }
  std::vector<std::string> args(std::vector<std::string> a) {
    a.insert(a.end(), {"--host", mock_.info().host(), "--fingerprint", mock_.info().fingerprint});
    return a;
  }
  std::string spice_proxy() const {
    return "127.0.0.1:" + std::to_string(mock_.info().spice_proxy_port);
  }

  MockPveproxy mock_;
};

// --no-viewer forces the relay: the .vv names it, a CONNECT to the console's target goes through
// (bytes both ways), any other target is refused, and the console ends when the client goes.
TEST_F(SpiceTest, RelayCarriesOnlyThisConsolesTarget) {
  auto p = start_pvebridge(args({"connect", "web01", "--protocol", "spice", "--no-viewer", "--json",
                                 "--spice-proxy", spice_proxy()}),
                           env());
  auto listening = p->wait_for_line("\"listening\"", 15000);
  ASSERT_TRUE(listening) << p->stderr_text();
  EXPECT_EQ(json_get(*listening, "protocol"), "spice");
  int port = std::atoi(json_get(*listening, "port").value_or("0").c_str());
  std::string vv_path = json_get(*listening, "vv_file").value_or("");
  ASSERT_GT(port, 0);
  struct stat st {};
  ASSERT_EQ(stat(vv_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string vv = read_file(vv_path);
  EXPECT_EQ(vv_value(vv, "type"), "spice");
  EXPECT_EQ(vv_value(vv, "proxy"), "http://127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(vv_value(vv, "tls-port"), "61100");
  EXPECT_EQ(vv_value(vv, "host").rfind("pvespiceproxy:", 0), 0u) << vv;
  EXPECT_EQ(vv_value(vv, "password").size(), 40u);
  EXPECT_EQ(vv_value(vv, "host-subject"), "CN=localhost");
  EXPECT_EQ(vv_value(vv, "delete-this-file"), "1");
  // The CA as Proxmox writes it: one line, "\n" as two characters.
  EXPECT_EQ(vv_value(vv, "ca").rfind("-----BEGIN CERTIFICATE-----\\n", 0), 0u) << vv;
  const std::string target = vv_value(vv, "host") + ":61100";

  {  // Another target: the ticket of another console, or any host at all.
    Client other(port);
    ASSERT_TRUE(other.connected());
    other.send("CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n");
    EXPECT_EQ(other.read_head().rfind("HTTP/1.1 403 ", 0), 0u);
  }
  {  // The right request line with another Host (spiceproxy authenticates by Host).
    Client smuggled(port);
    smuggled.send("CONNECT " + target + " HTTP/1.1\r\nHost: pvespiceproxy:0:1:x:61100::" +
                  std::string(40, 'a') + ":61100\r\n\r\n");
    EXPECT_EQ(smuggled.read_head().rfind("HTTP/1.1 403 ", 0), 0u);
  }
  auto refused = p->wait_for_line("\"client_refused\"", 5000);
  EXPECT_TRUE(refused);

  Client channel(port);
  channel.send("CONNECT " + target + " HTTP/1.0\r\nHost: " + target + "\r\n\r\n");
  EXPECT_EQ(channel.read_head(), "HTTP/1.0 200 OK\r\n\r\n");
  EXPECT_TRUE(p->wait_for_line("\"client_connected\"", 5000));
  std::string payload(100000, 'x');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7);
  channel.send(payload);
  EXPECT_EQ(channel.read(payload.size()), payload);  // the mock's echo, through the relay
  channel.shut();

  auto code = p->wait(15000);
  ASSERT_TRUE(code) << p->stderr_text();
  EXPECT_EQ(*code, 0) << p->stderr_text();
  std::string closed;
  for (const auto& l : p->stdout_lines()) {
    if (l.find("\"closed\"") != std::string::npos) closed = l;
  }
  EXPECT_EQ(json_get(closed, "reason"), "client_closed");
  // The payload and our own CONNECT head: "CONNECT <t> HTTP/1.0\r\nHost: <t>\r\n\r\n".
  const std::string head = "CONNECT " + target + " HTTP/1.0\r\nHost: " + target + "\r\n\r\n";
  EXPECT_EQ(json_get(closed, "bytes_to_guest"), std::to_string(payload.size() + head.size()));
  EXPECT_EQ(json_get(closed, "bytes_from_guest"),
            std::to_string(payload.size() + std::string("HTTP/1.0 200 OK\r\n\r\n").size()));
  EXPECT_FALSE(file_exists(vv_path)) << "the .vv must be removed";
  // The mock's spiceproxy refused nothing: the relay never let a wrong target through.
  EXPECT_EQ(mock_.process().stderr_text().find("refused a CONNECT"), std::string::npos);
}

// The mock's spiceproxy itself, as Proxmox's: a ticket with a bad signature is refused (401).
TEST_F(SpiceTest, MockSpiceproxyChecksTheSignature) {
  Client c(mock_.info().spice_proxy_port);
  std::string forged = "pvespiceproxy:00000000:100:pve1:61100::" + std::string(40, '0') + ":61100";
  c.send("CONNECT " + forged + " HTTP/1.1\r\nHost: " + forged + "\r\n\r\n");
  EXPECT_EQ(c.read_head().rfind("HTTP/1.1 401 invalid ticket", 0), 0u);
}

// Without the relay the .vv names the SPICE proxy itself: --spice-proxy, port included; the
// viewer gets the file (here a script that keeps a copy), which is removed once it exits.
TEST_F(SpiceTest, DirectVvNamesTheSpiceProxy) {
  auto dir = PrivateDir::create("pvb-spice-test");
  ASSERT_TRUE(dir.ok());
  std::string copy = dir->path() + "/copy.vv";
  std::string script = dir->path() + "/viewer.sh";
  ASSERT_TRUE(write_new_private_file(script, "#!/bin/sh\ncp \"$1\" " + copy + "\n").ok());
  chmod(script.c_str(), 0700);
  RunResult r =
      run_pvebridge(args({"connect", "web01", "--protocol", "spice", "--json", "--viewer", script,
                          "--spice-proxy", spice_proxy(), "--title", "my title", "--fullscreen"}),
                    env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string vv = read_file(copy);
  EXPECT_EQ(vv_value(vv, "proxy"), "http://" + spice_proxy());
  EXPECT_EQ(vv_value(vv, "title"), "my title");
  EXPECT_EQ(vv_value(vv, "fullscreen"), "1");
  EXPECT_EQ(vv_value(vv, "secure-attention"), "Ctrl+Alt+Ins");  // Proxmox's hotkeys, kept
}

// --vv-stdin: the .vv goes to the viewer's standard input ("remote-viewer -"), never to disk.
TEST_F(SpiceTest, VvOnTheViewersStdin) {
  auto dir = PrivateDir::create("pvb-spice-test");
  ASSERT_TRUE(dir.ok());
  std::string copy = dir->path() + "/stdin.vv";
  std::string script = dir->path() + "/viewer.sh";
  ASSERT_TRUE(
      write_new_private_file(script, "#!/bin/sh\n[ \"$1\" = - ] || exit 3\ncat > " + copy + "\n")
          .ok());
  chmod(script.c_str(), 0700);
  std::string tmp = dir->path() + "/tmp";
  mkdir(tmp.c_str(), 0700);
  RunResult r = run_pvebridge(args({"connect", "web01", "--protocol", "spice", "--vv-stdin",
                                    "--viewer", script, "--spice-proxy", spice_proxy()}),
                              env({{"TMPDIR", tmp}, {"XDG_RUNTIME_DIR", tmp}}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string vv = read_file(copy);
  EXPECT_EQ(vv_value(vv, "type"), "spice");
  EXPECT_EQ(vv_value(vv, "proxy"), "http://" + spice_proxy());
  EXPECT_EQ(vv_value(vv, "password").size(), 40u);
  // Nothing was written under TMPDIR (where the private .vv directory would be).
  DIR* d = opendir(tmp.c_str());
  ASSERT_NE(d, nullptr);
  int entries = 0;
  while (dirent* e = readdir(d))
    entries += std::string(e->d_name) != "." && std::string(e->d_name) != "..";
  closedir(d);
  EXPECT_EQ(entries, 0);
}

// Port 3128 closed: a clear error before any ticket is asked for, exit 12.
TEST_F(SpiceTest, UnreachableSpiceProxyIsExplained) {
  std::string closed = "127.0.0.1:" + std::to_string(free_port());
  RunResult r = run_pvebridge(
      args({"connect", "web01", "--protocol", "spice", "--no-viewer", "--spice-proxy", closed}),
      env());
  EXPECT_EQ(r.exit_code, kExitSpiceProxy) << r.err;
  EXPECT_NE(r.err.find("the node's SPICE proxy on " + closed + " is not reachable"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("use --protocol vnc, which needs only port"), std::string::npos) << r.err;
  EXPECT_EQ(mock_.process().stderr_text().find("spiceproxy 200"), std::string::npos);
}

// Guests without SPICE: a VM whose display is std, a container (exit 11); --protocol auto takes
// VNC for both, and SPICE for web01 (vga qxl).
TEST_F(SpiceTest, GuestsWithoutSpice) {
  RunResult vm =
      run_pvebridge(args({"connect", "110", "--protocol", "spice", "--no-viewer"}), env());
  EXPECT_EQ(vm.exit_code, kExitNoSpice) << vm.err;
  EXPECT_NE(vm.err.find("has no SPICE display"), std::string::npos) << vm.err;
  RunResult ct =
      run_pvebridge(args({"connect", "ct-web", "--protocol", "spice", "--no-viewer"}), env());
  EXPECT_EQ(ct.exit_code, kExitNoSpice) << ct.err;
  EXPECT_NE(ct.err.find("containers have no SPICE display"), std::string::npos) << ct.err;

  for (const auto& [guest, protocol] : std::vector<std::pair<std::string, std::string>>{
           {"110", "vnc"}, {"ct-web", "vnc"}, {"web01", "spice"}}) {
    auto p = start_pvebridge(args({"connect", guest, "--protocol", "auto", "--no-viewer", "--json",
                                   "--client-wait", "1", "--spice-proxy", spice_proxy()}),
                             env());
    auto listening = p->wait_for_line("\"listening\"", 15000);
    ASSERT_TRUE(listening) << guest << ": " << p->stderr_text();
    EXPECT_EQ(json_get(*listening, "protocol"), protocol) << guest;
    EXPECT_EQ(p->wait(10000), kExitNoClient) << guest;
  }
}

// The relay sees the viewer: none within --client-wait is exit 10. (At the default 30 s the
// message adds that the SPICE password has expired; the real late viewer is in the interop test.)
TEST_F(SpiceTest, NoViewerInTimeIsExit10) {
  RunResult r = run_pvebridge(args({"connect", "web01", "--protocol", "spice", "--no-viewer",
                                    "--client-wait", "2", "--spice-proxy", spice_proxy()}),
                              env());
  EXPECT_EQ(r.exit_code, kExitNoClient) << r.err;
  EXPECT_NE(r.err.find("no SPICE client connected within 2 s"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace pvb::testing
