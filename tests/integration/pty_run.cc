#include "tests/integration/pty_run.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>

#include "tests/integration/mock_fixture.h"

namespace pvb::testing {

PtyResult run_pvebridge_in_pty(const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& env,
                               const std::vector<std::pair<std::string, std::string>>& script,
                               int timeout_ms) {
  std::vector<std::string> argv_s = {pvebridge_path()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  PtyResult result;
  int master = -1;
  // forkpty: a new session whose controlling terminal is the pty (so /dev/tty is ours to answer).
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty failed: " << errno;
    return result;
  }
  if (pid == 0) {
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t step = 0;
  size_t searched_from = 0;
  bool killed = false;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      ADD_FAILURE() << "pvebridge on a terminal did not finish in " << timeout_ms
                    << " ms; output so far:\n"
                    << result.output;
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[4096];
    ssize_t n = read(master, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EIO: the child is gone and the terminal closed
    result.output.append(buf, static_cast<size_t>(n));
    while (step < script.size()) {
      auto at = result.output.find(script[step].first, searched_from);
      if (at == std::string::npos) break;
      searched_from = at + script[step].first.size();
      std::string line = script[step].second + "\n";
      (void)!write(master, line.data(), line.size());
      ++step;
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  if (killed) return result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace pvb::testing
