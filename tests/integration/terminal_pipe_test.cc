// pvebridge term / shell end to end, not on a terminal (pipe mode): the real program against the
// real mock-pveproxy, whose termproxy runs bash in a real pty. Exact output of a scripted command,
// every byte value through a raw remote tty, a regular file as stdin, refusals and faults, and a
// slow reader of a remote `yes` with pvebridge's memory bounded.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/mock_fixture.h"

namespace pvb::testing {
namespace {

class TerminalPipeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = PrivateDir::create("pvb-term");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string path(const std::string& name) { return dir_->path() + "/" + name; }

  static std::vector<std::string> args(const MockPveproxy& m, std::vector<std::string> cmd) {
    std::vector<std::string> a = {"--host", m.info().host(), "--fingerprint", m.info().fingerprint};
    cmd.insert(cmd.end(), a.begin(), a.end());
    return cmd;
  }
  static std::map<std::string, std::string> user_env(const MockPveproxy& m) {
    return base_env({{"PVE_USER", m.info().user}, {"PVE_PASSWORD", m.info().password}});
  }
  static std::map<std::string, std::string> token_env(const MockPveproxy& m) {
    return base_env({{"PVE_API_TOKEN", m.info().api_token}});
  }

  // Runs pvebridge with stdin from `input` (a regular file) and stdout, stderr to files.
  struct FileRun {
    int exit_code = -1;
    std::string out, err;
  };
  FileRun run_with_files(const std::vector<std::string>& a,
                         const std::map<std::string, std::string>& env, const std::string& input,
                         int timeout_ms = 20000) {
    {
      std::ofstream f(path("in"), std::ios::binary);
      f << input;
    }
    std::vector<std::string> argv_s = {pvebridge_path()};
    argv_s.insert(argv_s.end(), a.begin(), a.end());
    std::vector<std::string> env_s;
    for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, path("in").c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, path("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&fa, 2, path("err").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    pid_t pid = -1;
    FileRun r;
    int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn failed: " << rc;
      return r;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ADD_FAILURE() << "pvebridge did not finish in " << timeout_ms << " ms";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_file(path("out"));
    r.err = read_file(path("err"));
    return r;
  }

  std::optional<PrivateDir> dir_;
};

// pvebridge with its stdin a pipe the test writes to (start_pvebridge gives it /dev/null).
std::unique_ptr<ChildProcess> start_with_pipe(const std::vector<std::string>& a,
                                              const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {pvebridge_path()};
  argv.insert(argv.end(), a.begin(), a.end());
  return std::make_unique<ChildProcess>(argv, env, /*pipe_stdin=*/true);
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

TEST_F(TerminalPipeTest, ScriptedCommandGivesItsExactOutput) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  // Echo is on while the line is typed (the pty echoes at once), so the output proper starts
  // after the START marker, which the typed line spells differently.
  auto r = run_with_files(args(m, {"term", "200"}), user_env(m),
                          "stty -echo; PS1=; echo ST''ART; printf 'a\\tb\\n'; echo \"$TERM\"; "
                          "stty size; exit\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t start = r.out.find("START\r\n");
  ASSERT_NE(start, std::string::npos) << r.out;
  EXPECT_EQ(r.out.substr(start), "START\r\na\tb\r\nxterm-256color\r\n20 80\r\nexit\r\n");
}

TEST_F(TerminalPipeTest, LargeOutputArrivesWholeWhenTheShellExitsRightAfter) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  // The shell exits right after the output: its tail must still arrive (a raw remote tty, so the
  // bytes are exactly seq's).
  auto r = run_with_files(args(m, {"term", "200"}), user_env(m),
                          "stty raw -echo; echo ST''ART; seq 1 300000; exit\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t start = r.out.find("START\n");
  ASSERT_NE(start, std::string::npos);
  std::string want;
  for (int i = 1; i <= 300000; ++i) want += std::to_string(i) + "\n";
  want += "exit\n";  // what an interactive bash says as it leaves
  std::string got = r.out.substr(start + 6);
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "the output differs from seq 1 300000";
}

TEST_F(TerminalPipeTest, EchoUnameExitWorksFromAPipe) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto p = start_with_pipe(args(m, {"term", "ct-web"}), token_env(m));
  p->write_stdin("uname -s; exit\n");
  p->close_stdin();
  auto code = p->wait(20000);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << p->stderr_text();
  EXPECT_NE(joined(p->stdout_lines()).find("Linux\r\n"), std::string::npos)
      << joined(p->stdout_lines());
}

TEST_F(TerminalPipeTest, AllByteValuesRoundTripThroughARawRemoteTty) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto p = start_with_pipe(args(m, {"term", "200"}), user_env(m));
  p->write_stdin("stty raw -echo; echo RE''ADY; head -c 256 | od -An -tx1 -v; exit\n");
  // Only once the remote tty is raw may the bytes come (a cooked tty would act on ^C, ^U, ...).
  ASSERT_TRUE(p->wait_for_line("READY", 15000)) << p->stderr_text();
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  p->write_stdin(all);
  p->close_stdin();
  auto code = p->wait(20000);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << p->stderr_text();
  // od's hex dump after READY: 16 lines of 16 bytes.
  std::string text;
  bool after = false;
  for (const auto& l : p->stdout_lines()) {
    if (after) text += l + " ";
    if (l.find("READY") != std::string::npos && l.find("RE''ADY") == std::string::npos) {
      after = true;
    }
  }
  std::istringstream in(text);
  std::string hex;
  std::vector<int> got;
  while (in >> hex && got.size() < 256) {
    if (hex.size() != 2) continue;
    got.push_back(std::stoi(hex, nullptr, 16));
  }
  ASSERT_EQ(got.size(), 256u) << text;
  for (int i = 0; i < 256; ++i) EXPECT_EQ(got[i], i) << "byte " << i;
}

TEST_F(TerminalPipeTest, NodeShellOfTheNodeThatAnswers) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_with_files(args(m, {"shell", "--json"}), user_env(m), "echo \"[$PS1]\"; exit\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("[localhost$ ]"), std::string::npos) << r.out;
  // --json events go to stderr: stdout is the terminal's.
  EXPECT_NE(r.err.find("\"event\":\"connected\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"type\":\"shell\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"reason\":\"remote_closed\""), std::string::npos) << r.err;
  auto named = run_with_files(args(m, {"shell", "pve2"}), user_env(m), "echo \"[$PS1]\"; exit\n");
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_NE(named.out.find("[pve2$ ]"), std::string::npos) << named.out;
}

TEST_F(TerminalPipeTest, QemuSerialConsoleDefaultAndMissingPort) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  // VM 106 has serial1 and serial3: the first is the default.
  auto r =
      run_with_files(args(m, {"term", "106", "--json"}), user_env(m), "echo \"[$PS1]\"; exit\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("[vm106-serial1$ ]"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("\"serial\":1"), std::string::npos) << r.err;
  auto s3 = run_with_files(args(m, {"term", "106", "--serial", "3"}), user_env(m),
                           "echo \"[$PS1]\"; exit\n");
  EXPECT_NE(s3.out.find("[vm106-serial3$ ]"), std::string::npos) << s3.out;
  // VM 102 has no serial port at all.
  auto none = run_with_files(args(m, {"term", "102"}), user_env(m), "");
  EXPECT_EQ(none.exit_code, 8);
  EXPECT_NE(none.err.find("qm set 102 -serial0 socket"), std::string::npos) << none.err;
}

TEST_F(TerminalPipeTest, StoppedContainerWithoutStartIsTheSameErrorAsConnect) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_with_files(args(m, {"term", "201"}), user_env(m), "");
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_NE(r.err.find("is stopped; add --start to start it"), std::string::npos) << r.err;
}

TEST_F(TerminalPipeTest, StartThenTerminal) {
  MockPveproxy m({"--start-delay-ms", "100"});
  ASSERT_TRUE(m.ok());
  auto r =
      run_with_files(args(m, {"term", "201", "--start"}), user_env(m), "echo \"[$PS1]\"; exit\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("[ct201$ ]"), std::string::npos) << r.out;
}

TEST_F(TerminalPipeTest, RemoteOutputQuietAfterInputEndEndsTheSession) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  // No exit: the session ends because stdin ended and the output went quiet.
  auto started = std::chrono::steady_clock::now();
  auto r = run_with_files(args(m, {"term", "200", "--idle-exit", "1", "--json"}), user_env(m),
                          "echo hi\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("\"reason\":\"input_done\""), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
}

TEST_F(TerminalPipeTest, FaultsGiveClearErrors) {
  struct Case {
    const char* fault;
    int exit_code;
    const char* text;
  };
  for (const Case& c : {Case{"term=garbage", 8, "instead of OK"},
                        Case{"term=no_ok", 7, "did not answer OK within"}}) {
    MockPveproxy m({"--fault", c.fault});
    ASSERT_TRUE(m.ok());
    auto r = run_with_files(args(m, {"term", "200", "--json"}), user_env(m), "", 30000);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.fault << ": " << r.err;
    EXPECT_NE(r.err.find(c.text), std::string::npos) << c.fault << ": " << r.err;
    EXPECT_NE(r.err.find("\"event\":\"error\""), std::string::npos) << r.err;
  }
}

TEST_F(TerminalPipeTest, TokenRefusedByAnOlderServerSuggestsAUserLogin) {
  MockPveproxy m({"--fault", "term=refuse_token"});
  ASSERT_TRUE(m.ok());
  auto r = run_with_files(args(m, {"term", "200"}), token_env(m), "");
  EXPECT_EQ(r.exit_code, 8) << r.err;
  EXPECT_NE(r.err.find("API token"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--user"), std::string::npos) << r.err;
  // A user login works on the same server.
  auto u = run_with_files(args(m, {"term", "200"}), user_env(m), "exit\n");
  EXPECT_EQ(u.exit_code, 0) << u.err;
}

TEST_F(TerminalPipeTest, CloseMidOutputEndsTheSessionWithWhatCameWritten) {
  MockPveproxy m({"--fault", "term=close_mid_output"});
  ASSERT_TRUE(m.ok());
  auto r = run_with_files(args(m, {"term", "200", "--json"}), user_env(m), "sleep 5\n");
  // pveproxy closes the connection when the terminal goes away, as when the shell exits: the
  // session ends there (not after the remote sleep), and every byte received is on stdout.
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("\"reason\":\"remote_closed\""), std::string::npos) << r.err;
  EXPECT_FALSE(r.out.empty());
  EXPECT_NE(r.err.find("\"bytes_out\":" + std::to_string(r.out.size()) + "}"), std::string::npos)
      << r.err << " vs " << r.out.size() << " bytes on stdout";
}

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST_F(TerminalPipeTest, SlowReaderOfARemoteFloodKeepsMemoryBounded) {
  for (const char* source : {"yes", "burst"}) {
    std::vector<std::string> flags;
    if (std::string(source) == "burst") flags = {"--fault", "term=burst"};
    MockPveproxy m(flags);
    ASSERT_TRUE(m.ok());
    auto p = start_with_pipe(args(m, {"term", "200"}), user_env(m));
    if (std::string(source) == "yes") p->write_stdin("yes\n");
    // Read slowly: a few lines now and then, for about 3 seconds.
    long max_rss = 0;
    size_t lines = 0;
    for (int i = 0; i < 30; ++i) {
      for (int k = 0; k < 20; ++k) {
        if (p->read_line(1000)) ++lines;
      }
      max_rss = std::max(max_rss, rss_kib(p->pid()));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GT(lines, 100u) << source;
    EXPECT_GT(max_rss, 0) << source;
    EXPECT_LT(max_rss, 64 * 1024) << source << ": pvebridge RSS " << max_rss << " KiB";
    p->signal(SIGTERM);
    auto code = p->wait(10000);
    ASSERT_TRUE(code.has_value()) << source;
    EXPECT_EQ(*code, 143) << source << ": " << p->stderr_text();
  }
}

}  // namespace
}  // namespace pvb::testing
