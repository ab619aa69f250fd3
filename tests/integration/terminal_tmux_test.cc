// pvebridge term interactively, in a real terminal emulator: tmux runs it in a 100x30 window
// against the mock, whose termproxy runs bash in a real pty. Keys go in with `tmux send-keys`,
// the screen comes back with `tmux capture-pane -p`. Skipped (with the reason) without tmux.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "tests/integration/mock_fixture.h"

namespace pvb::testing {
namespace {

class TerminalTmuxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmux_ = find_executable("tmux");
    if (tmux_.empty()) GTEST_SKIP() << "tmux is not installed (apt-get install tmux)";
    auto d = PrivateDir::create("pvb-tmux");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    std::ofstream(path("tmux.conf")) << "set -g status off\nset -g history-limit 100\n";
  }
  void TearDown() override {
    if (started_) tmux({"kill-server"});
  }
  std::string path(const std::string& name) { return dir_->path() + "/" + name; }

  // Runs one tmux command on our private server; returns its stdout.
  std::string tmux(std::vector<std::string> args) {
    std::vector<std::string> argv = {tmux_, "-S", path("sock"), "-f", path("tmux.conf")};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess p(argv, base_env({{"TERM", "xterm-256color"}}), false);
    p.wait(10000);
    std::string out;
    for (const auto& l : p.stdout_lines()) out += l + "\n";
    return out;
  }

  // Starts pvebridge (with `extra` arguments) in a tmux window, with `stty -a` saved before and
  // after it and its exit code shown on the screen.
  void start(const MockPveproxy& m, const std::string& extra) {
    std::string script = "#!/bin/sh\n";
    script += "export PVE_HOST='" + m.info().host() + "' PVE_FINGERPRINT='" + m.info().fingerprint +
              "' PVE_USER='" + m.info().user + "' PVE_PASSWORD='" + m.info().password +
              "' XDG_CONFIG_HOME=/nonexistent/pvebridge-tests\n";
    script += "stty -a > '" + path("before") + "'\n";
    script += "'" + pvebridge_path() + "' term 200 " + extra + "\n";
    script += "echo \"EXIT=$?\"\n";
    // Written whole, then renamed: the test may look for the file while stty still writes it.
    script += "stty -a > '" + path("after.tmp") + "' && mv '" + path("after.tmp") + "' '" +
              path("after") + "'\n";
    script += "exec sleep 600\n";
    {
      std::ofstream f(path("run.sh"));
      f << script;
    }
    chmod(path("run.sh").c_str(), 0700);
    tmux({"new-session", "-d", "-x", "100", "-y", "30", "-s", "t", path("run.sh")});
    started_ = true;
  }

  std::string screen() { return tmux({"capture-pane", "-p", "-t", "t"}); }

  // Waits until the screen holds `text` (after the n-th occurrence: count).
  bool wait_screen(const std::string& text, int count = 1, int timeout_ms = 15000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string s = screen();
      int n = 0;
      for (size_t at = s.find(text); at != std::string::npos; at = s.find(text, at + 1)) ++n;
      if (n >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void keys(const std::string& literal) { tmux({"send-keys", "-t", "t", "-l", literal}); }
  void key(const std::string& name) { tmux({"send-keys", "-t", "t", name}); }

  std::string tmux_;
  std::optional<PrivateDir> dir_;
  bool started_ = false;
};

TEST_F(TerminalTmuxTest, TypeEditResizeInterruptDrawAndLeaveWithTildeDot) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  start(m, "");
  ASSERT_TRUE(wait_screen("ct200$")) << screen();
  EXPECT_TRUE(wait_screen("escape character is '~'")) << screen();

  // Typing, with the remote side's echo and line editing (a backspace).
  keys("echo hello-");
  keys("wrongX");
  key("BSpace");
  keys("\r");
  ASSERT_TRUE(wait_screen("hello-wrong\n")) << screen();
  EXPECT_EQ(screen().find("hello-wrongX\n"), std::string::npos);

  // The size at start, and after the window changes.
  keys("stty size\r");
  ASSERT_TRUE(wait_screen("30 100")) << screen();
  tmux({"resize-window", "-t", "t", "-x", "120", "-y", "40"});
  keys("clear; stty size\r");
  ASSERT_TRUE(wait_screen("40 120")) << screen();

  // ^C reaches the remote foreground job.
  keys("clear; sleep 30; echo not-interrupted\r");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  key("C-c");
  keys("echo after-$((6*7))\r");
  ASSERT_TRUE(wait_screen("after-42", 1, 5000)) << screen();
  EXPECT_EQ(screen().find("not-interrupted\n"), std::string::npos);

  // A full-screen program draws, and gives the screen back.
  keys("clear; seq 1 200 | less\r");
  ASSERT_TRUE(wait_screen("\n39\n")) << screen();
  std::string s = screen();
  EXPECT_EQ(s.rfind("1\n2\n3\n", 0), 0u) << s;
  EXPECT_EQ(s.find("\n40\n"), std::string::npos)
      << "one screen of 40 rows: 39 lines and less's prompt";
  keys("q");
  keys("clear; echo back\r");
  ASSERT_TRUE(wait_screen("back\n")) << screen();

  // ~. at the start of a line ends the session; the local terminal is as it was.
  keys("\r~.");
  ASSERT_TRUE(wait_screen("EXIT=0")) << screen();
  for (int i = 0; i < 300 && !file_exists(path("after")); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string before = read_file(path("before"));
  std::string after = read_file(path("after"));
  ASSERT_FALSE(before.empty());
  // The window's size changed meanwhile: compare everything but the size line.
  auto without_size = [](std::string t) { return t.substr(t.find('\n')); };
  EXPECT_EQ(without_size(before), without_size(after));
}

TEST_F(TerminalTmuxTest, TildeQuestionListsEscapesAndRemoteExitEndsWithZero) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  start(m, "");
  ASSERT_TRUE(wait_screen("ct200$")) << screen();
  keys("~?");
  ASSERT_TRUE(wait_screen("Supported escape sequences")) << screen();
  keys("exit\r");
  ASSERT_TRUE(wait_screen("EXIT=0")) << screen();
  for (int i = 0; i < 300 && !file_exists(path("after")); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(read_file(path("before")), read_file(path("after")));
}

TEST_F(TerminalTmuxTest, SignalsRestoreTheTerminal) {
  struct Case {
    const char* signal;
    const char* exit_line;
  };
  for (const Case& c :
       {Case{"TERM", "EXIT=143"}, Case{"HUP", "EXIT=129"}, Case{"INT", "EXIT=130"}}) {
    SCOPED_TRACE(c.signal);
    MockPveproxy m;
    ASSERT_TRUE(m.ok());
    start(m, "--escape none");
    ASSERT_TRUE(wait_screen("ct200$")) << screen();
    EXPECT_TRUE(wait_screen("no escape character")) << screen();
    keys("~.echo still-here\r");  // no escapes: sent as typed
    ASSERT_TRUE(wait_screen("still-here\n")) << screen();
    std::string pid = tmux({"display-message", "-p", "-t", "t", "#{pane_pid}"});
    ASSERT_FALSE(pid.empty());
    // pvebridge is the pane's shell script's child.
    ChildProcess pk({"/usr/bin/pkill", std::string("-") + c.signal, "-P",
                     pid.substr(0, pid.find('\n')), "-x", "pvebridge"},
                    base_env(), false);
    pk.wait(5000);
    ASSERT_TRUE(wait_screen(c.exit_line)) << screen();
    for (int i = 0; i < 300 && !file_exists(path("after")); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(read_file(path("before")), read_file(path("after")));
    tmux({"kill-server"});
    started_ = false;
    remove_file(path("before"));
    remove_file(path("after"));
  }
}

}  // namespace
}  // namespace pvb::testing
