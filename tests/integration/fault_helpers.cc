#include "tests/integration/fault_helpers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pvb::testing {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Outcome::line() const {
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("pvebridge: ", 0) == 0) lines.push_back(l.substr(11));
  }
  for (const char* prefix : {"error: ", "console closed: "}) {
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
      if (it->rfind(prefix, 0) == 0) return *it;
    }
  }
  if (!lines.empty()) return lines.back();
  // --json: the error event, else the closed event.
  for (const char* event : {"error", "closed"}) {
    for (auto it = out.rbegin(); it != out.rend(); ++it) {
      if (json_get(*it, "event") != event) continue;
      if (std::string(event) == "error") return "error: " + json_get(*it, "message").value_or("");
      return "{\"event\":\"closed\",\"reason\":\"" + json_get(*it, "reason").value_or("") + "\"}";
    }
  }
  return "";
}

Outcome finish_bounded(ChildProcess& p, int64_t started_ms, int bound_ms) {
  Outcome o;
  std::optional<int> code = p.wait(bound_ms);
  if (!code) {
    ADD_FAILURE() << "pvebridge did not end within " << bound_ms
                  << " ms; stderr: " << p.stderr_text();
    p.signal(SIGKILL);
    code = p.wait(5000);
  }
  o.elapsed_ms = now_ms() - started_ms;
  o.exit_code = code.value_or(-1);
  o.out = p.stdout_lines();
  o.err = p.stderr_text();
  return o;
}

Outcome run_bounded(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env, int bound_ms) {
  const int64_t start = now_ms();
  std::unique_ptr<ChildProcess> p = start_pvebridge(args, env);
  return finish_bounded(*p, start, bound_ms);
}

void record(const std::string& name, const std::string& how, const Outcome& o) {
  const char* file = std::getenv("PVB_FAULTS_OBSERVED");
  if (file == nullptr || *file == '\0') return;
  std::ofstream out(file, std::ios::app);
  out << name << " | " << how << " | " << o.exit_code << " | " << o.line() << " | " << o.elapsed_ms
      << " ms\n";
}

int64_t children_peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return ru.ru_maxrss;
}

int64_t process_status_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  const std::string key = std::string(field) + ":";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return std::atoll(line.c_str() + key.size());
  }
  return -1;
}

void expect_bounded_children_memory() {
#ifdef PVB_SANITIZED
  GTEST_LOG_(INFO) << "memory bound not checked under sanitizers (peak " << children_peak_rss_kib()
                   << " KiB)";
#else
  EXPECT_LT(children_peak_rss_kib(), kMemoryBoundKib) << "a child process went over the bound";
#endif
}

bool process_group_gone(pid_t pgid) {
  return kill(-pgid, 0) == -1 && errno == ESRCH;
}

bool wait_for_stderr(ChildProcess& p, const std::string& needle, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  while (p.stderr_text().find(needle) == std::string::npos) {
    if (now_ms() >= deadline) return false;
    if (p.wait(20)) return p.stderr_text().find(needle) != std::string::npos;  // it exited
  }
  return true;
}

bool wait_for_file(ChildProcess& p, const std::string& path, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  while (!file_exists(path)) {
    if (now_ms() >= deadline || p.wait(10)) return file_exists(path);
  }
  return true;
}

std::optional<std::string> find_line(ChildProcess& p, const std::string& needle, int timeout_ms) {
  for (const std::string& l : p.stdout_lines()) {
    if (l.find(needle) != std::string::npos) return l;
  }
  return p.wait_for_line(needle, timeout_ms);
}

namespace {

// A loopback TCP socket bound to a free port; returns the fd and sets `port`.
int bound_socket(int& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

int connect_nonblocking(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  (void)!connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  return fd;
}

}  // namespace

Blackhole::Blackhole() {
  listener_ = bound_socket(port_);
  // Backlog 0 holds one connection; once it is queued, the kernel drops every further SYN.
  if (listener_ < 0 || listen(listener_, 0) != 0) {
    ADD_FAILURE() << "cannot listen";
    return;
  }
  filler_ = connect_nonblocking(port_);
  pollfd p{filler_, POLLOUT, 0};
  if (poll(&p, 1, 5000) != 1) ADD_FAILURE() << "the filler connection did not complete";
}

Blackhole::~Blackhole() {
  if (filler_ >= 0) ::close(filler_);
  if (listener_ >= 0) ::close(listener_);
}

SilentServer::SilentServer() {
  listener_ = bound_socket(port_);
  if (listener_ < 0 || listen(listener_, 16) != 0) ADD_FAILURE() << "cannot listen";
}

SilentServer::~SilentServer() {
  if (listener_ >= 0) ::close(listener_);
}

LocalClient::LocalClient(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (fd_ >= 0 && connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) close();
}

LocalClient::~LocalClient() {
  close();
}

ssize_t LocalClient::read_some(uint8_t* buf, size_t n, int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (fd_ < 0 || poll(&p, 1, timeout_ms) <= 0) return -1;
  return ::read(fd_, buf, n);
}

int LocalClient::queued() const {
  int n = 0;
  if (fd_ < 0 || ioctl(fd_, FIONREAD, &n) != 0) return -1;
  return n;
}

void LocalClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void FaultTest::SetUp() {
  auto d = PrivateDir::create("pvb-fault");
  ASSERT_TRUE(d.ok());
  dir_.emplace(std::move(*d));
}

std::vector<std::string> FaultTest::args(const MockPveproxy& m,
                                         std::vector<std::string> extra) const {
  std::vector<std::string> a = std::move(extra);
  for (const std::string& s : {std::string("--host"), m.info().host(), std::string("--fingerprint"),
                               m.info().fingerprint}) {
    a.push_back(s);
  }
  return a;
}

std::map<std::string, std::string> FaultTest::token_env(const MockPveproxy& m,
                                                        std::map<std::string, std::string> extra) {
  extra["PVE_API_TOKEN"] = m.info().api_token;
  extra["PVB_TEST_VIEWER_OUT"] = path("viewer.json");
  return base_env(extra);
}

std::vector<std::string> FaultTest::viewer(std::vector<std::string> viewer_flags) const {
  std::vector<std::string> a = {"--viewer", test_viewer_path()};
  for (const std::string& f : viewer_flags) {
    a.push_back("--viewer-arg");
    a.push_back(f);
  }
  return a;
}

}  // namespace pvb::testing
