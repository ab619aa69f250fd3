#include "bench/bridge_throughput/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

#include "bench/bridge_throughput/proc_stats.h"

extern char** environ;

namespace pvb::bench {

namespace {

constexpr size_t kStderrKeep = 8 * 1024;

// The harness's own soft RLIMIT_NOFILE, raised (up to the hard limit) before a child that needs
// many descriptors starts: children inherit it (1000 consoles hold ~3000 sockets).
void raise_nofile(uint64_t wanted) {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= wanted) return;
  r.rlim_cur = std::min<rlim_t>(wanted, r.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &r);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Reads what is there (waiting at most 200 ms); false at EOF or error.
bool read_some(int fd, std::string& into, const std::atomic<bool>& stop) {
  while (!stop) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, 200);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (r == 0) continue;
    char buf[16384];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    into.append(buf, static_cast<size_t>(n));
    return true;
  }
  return false;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<std::unique_ptr<Child>> Child::spawn(ChildOptions options) {
  if (options.argv.empty()) return Error(Errc::usage, "no program to run");
  std::unique_ptr<Child> c(new Child());
  c->name_ = base_name(options.argv[0]);

  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const std::string& k : options.unset_env) env.erase(k);
  for (auto& [k, v] : options.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv;
  std::vector<char*> envp;
  for (auto& a : options.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (options.nofile > 0) raise_nofile(options.nofile);

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in, out, err}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
  };
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    close_all();
    return Error(Errc::internal, std::string("pipe failed: ") + std::strerror(errno));
  }
  // posix_spawn (vfork-like): a fork() would copy the harness's page tables first, which on a
  // paravirtualised machine costs milliseconds and would be counted in every setup time.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  pid_t pid = -1;
  c->started_at_ = now_seconds();
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    close_all();
    return Error(Errc::internal, "cannot run " + options.argv[0] + ": " + std::strerror(rc));
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  c->pid_ = pid;
  c->in_ = in[1];
  c->out_ = out[0];
  c->err_ = err[0];
  c->pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  c->out_thread_ = std::thread([p = c.get()] { p->read_stdout(); });
  c->err_thread_ = std::thread([p = c.get()] { p->read_stderr(); });
  return c;
}

Child::~Child() {
  if (pid_ > 0 && !exit_) {
    ::kill(pid_, SIGKILL);
    wait(10);
  }
  stop_ = true;
  if (out_thread_.joinable()) out_thread_.join();
  if (err_thread_.joinable()) err_thread_.join();
  close_fd(in_);
  close_fd(out_);
  close_fd(err_);
  close_fd(pidfd_);
}

void Child::read_stdout() {
  std::string buf;
  while (read_some(out_, buf, stop_)) {
    const double at = now_seconds();
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(ChildLine{buf.substr(0, nl), at});
      buf.erase(0, nl + 1);
      cv_.notify_all();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  out_eof_ = true;
  cv_.notify_all();
}

void Child::read_stderr() {
  std::string buf;
  while (read_some(err_, buf, stop_)) {
    std::lock_guard<std::mutex> lock(mu_);
    err_text_ += buf;
    buf.clear();
    if (err_text_.size() > 2 * kStderrKeep) err_text_.erase(0, err_text_.size() - kStderrKeep);
  }
}

std::optional<ChildLine> Child::read_line(double timeout_s) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  cv_.wait_until(lock, deadline, [&] { return !lines_.empty() || out_eof_; });
  if (lines_.empty()) return std::nullopt;
  ChildLine line = std::move(lines_.front());
  lines_.pop_front();
  return line;
}

std::optional<ChildLine> Child::wait_for_line(std::string_view needle, double timeout_s) {
  const double deadline = now_seconds() + timeout_s;
  for (;;) {
    const double left = deadline - now_seconds();
    if (left <= 0) return std::nullopt;
    auto line = read_line(left);
    if (!line) return std::nullopt;
    if (line->text.find(needle) != std::string::npos) return line;
  }
}

void Child::write_stdin(std::string_view data) {
  while (in_ >= 0 && !data.empty()) {
    ssize_t n = ::write(in_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void Child::close_stdin() {
  close_fd(in_);
}

void Child::signal(int signum) {
  if (pid_ > 0 && !exit_) ::kill(pid_, signum);
}

std::optional<ChildExit> Child::wait(double timeout_s) {
  if (exit_) return exit_;
  const double deadline = now_seconds() + timeout_s;
  for (;;) {
    int status = 0;
    rusage ru{};
    pid_t r = ::wait4(pid_, &status, WNOHANG, &ru);
    if (r == pid_) {
      ChildExit e;
      e.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      e.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                      static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
      exit_ = e;
      return exit_;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    const double left = deadline - now_seconds();
    if (left <= 0) return std::nullopt;
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left * 1000) + 1);
    } else {
      ::usleep(1000);  // no pidfd (old kernel): poll the status every millisecond
    }
  }
}

std::string Child::stderr_tail() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (err_text_.size() <= kStderrKeep) return err_text_;
  return err_text_.substr(err_text_.size() - kStderrKeep);
}

}  // namespace pvb::bench
