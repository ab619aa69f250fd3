#include "tests/integration/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

extern char** environ;

namespace pvb::testing {

namespace {
int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

std::map<std::string, std::string> inherited_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

ChildProcess::ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env,
                           bool pipe_stdin) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return;
  std::vector<std::string> env_s;
  for (auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : env_s) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    if (pipe_stdin) {
      dup2(in[0], 0);
    } else {
      int devnull = open("/dev/null", O_RDONLY);
      dup2(devnull, 0);
    }
    dup2(out[1], 1);
    dup2(err[1], 2);
    // Own process group, so a signal to the test runner's group does not reach it.
    setpgid(0, 0);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  in_ = in[1];
  out_ = out[0];
  errfd_ = err[0];
  if (!pipe_stdin) close_stdin();
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  for (int fd : {in_, out_, errfd_}) {
    if (fd >= 0) close(fd);
  }
}

void ChildProcess::pump_pipes(int timeout_ms) {
  pollfd fds[2];
  int n = 0;
  if (!out_eof_) fds[n++] = {out_, POLLIN, 0};
  if (!err_eof_) fds[n++] = {errfd_, POLLIN, 0};
  if (n == 0) {
    if (timeout_ms > 0) poll(nullptr, 0, std::min(timeout_ms, 20));
    return;
  }
  if (poll(fds, n, timeout_ms) <= 0) return;
  for (int i = 0; i < n; ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[65536];
    ssize_t r = read(fds[i].fd, buf, sizeof buf);
    bool is_out = fds[i].fd == out_;
    if (r <= 0) {
      (is_out ? out_eof_ : err_eof_) = true;
      continue;
    }
    if (is_out) {
      out_buf_.append(buf, static_cast<size_t>(r));
      size_t nl;
      while ((nl = out_buf_.find('\n')) != std::string::npos) {
        lines_.push_back(out_buf_.substr(0, nl));
        out_buf_.erase(0, nl + 1);
      }
    } else {
      err_.append(buf, static_cast<size_t>(r));
    }
  }
}

void ChildProcess::read_available() {
  size_t before;
  do {
    before = lines_.size() + err_.size() + out_buf_.size();
    pump_pipes(0);
  } while (lines_.size() + err_.size() + out_buf_.size() != before);
}

std::optional<std::string> ChildProcess::read_line(int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (consumed_ >= lines_.size()) {
    if (out_eof_) return std::nullopt;
    int64_t left = deadline - now_ms();
    if (left <= 0) return std::nullopt;
    pump_pipes(static_cast<int>(left));
  }
  return lines_[consumed_++];
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& needle, int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (true) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return std::nullopt;
    auto line = read_line(static_cast<int>(left));
    if (!line) return std::nullopt;
    if (line->find(needle) != std::string::npos) return line;
  }
}

void ChildProcess::write_stdin(const std::string& data) {
  if (in_ >= 0) (void)!::write(in_, data.data(), data.size());
}

void ChildProcess::close_stdin() {
  if (in_ >= 0) close(in_);
  in_ = -1;
}

void ChildProcess::signal(int signum) {
  if (pid_ > 0 && !status_) kill(pid_, signum);
}

std::optional<int> ChildProcess::wait(int timeout_ms) {
  if (status_) return status_;
  int64_t deadline = now_ms() + timeout_ms;
  while (true) {
    pump_pipes(0);
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      // Collect what is still in the pipes.
      int64_t drain_deadline = now_ms() + 2000;
      while ((!out_eof_ || !err_eof_) && now_ms() < drain_deadline) pump_pipes(50);
      return status_;
    }
    int64_t left = deadline - now_ms();
    if (left <= 0) return std::nullopt;
    pump_pipes(static_cast<int>(std::min<int64_t>(left, 20)));
  }
}

}  // namespace pvb::testing
