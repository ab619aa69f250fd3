// SIGINT, SIGTERM and SIGHUP at every phase of a console, through the real programs: during the
// login, during vncproxy, while waiting for the viewer, while streaming, and while the viewer
// runs. Every time: exit 128 + the signal (130, 143, 129), the .vv file and its directory gone
// (pvebridge's TMPDIR is left empty), no process left in pvebridge's group (the viewer), and a
// line saying what happened.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstring>
#include <ostream>

#include "tests/integration/fault_helpers.h"

namespace pvb::testing {
namespace {

enum class Phase { login, vncproxy, waiting_for_client, streaming, viewer_running };

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::login:
      return "login";
    case Phase::vncproxy:
      return "vncproxy";
    case Phase::waiting_for_client:
      return "waiting_for_client";
    case Phase::streaming:
      return "streaming";
    case Phase::viewer_running:
      return "viewer_running";
  }
  return "?";
}

const char* sig_name(int signum) {
  return signum == SIGINT ? "INT" : signum == SIGTERM ? "TERM" : signum == SIGHUP ? "HUP" : "?";
}

struct SignalCase {
  Phase phase;
  int signum;
};

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        out.push_back(e->d_name);
      }
    }
    closedir(d);
  }
  return out;
}

void PrintTo(const SignalCase& c, std::ostream* os) {
  *os << "SIG" << sig_name(c.signum) << " during " << phase_name(c.phase);
}

class SignalAtPhase : public FaultTest, public ::testing::WithParamInterface<SignalCase> {};

TEST_P(SignalAtPhase, TearsDownCleanly) {
  const Phase phase = GetParam().phase;
  const int signum = GetParam().signum;
  std::vector<std::string> mock_flags;
  if (phase == Phase::login) mock_flags = {"--fault", "no_reply=/access/ticket"};
  if (phase == Phase::vncproxy) mock_flags = {"--fault", "no_reply=/vncproxy"};
  MockPveproxy m(mock_flags);
  ASSERT_TRUE(m.ok());

  // pvebridge makes its .vv directory in this TMPDIR: it must be empty again at the end.
  const std::string tmp = path("tmp");
  ASSERT_EQ(mkdir(tmp.c_str(), 0700), 0);
  std::map<std::string, std::string> env = token_env(m, {{"TMPDIR", tmp}});
  // Human output (what a user sees), --verbose for the protocol steps we wait for.
  std::vector<std::string> a = args(m, {"connect", "--verbose"});
  if (phase == Phase::login) {
    // A password login, so the login is its own request (POST /access/ticket).
    env = base_env({{"TMPDIR", tmp}, {"PVE_PASSWORD", m.info().password}});
    a.push_back("--user");
    a.push_back(m.info().user);
  }
  a.push_back(phase == Phase::streaming ? "source" : "web01");
  // "source" streams bytes, not VNC: the byte pipe.
  if (phase == Phase::streaming) a.push_back("--passthrough");
  if (phase == Phase::viewer_running) {
    for (const std::string& v : viewer({"--hold", "--ready-file", path("screen")})) a.push_back(v);
  } else {
    a.push_back("--no-viewer");
  }

  const int64_t start = now_ms();
  std::unique_ptr<ChildProcess> p = start_pvebridge(a, env);
  std::unique_ptr<LocalClient> client;
  switch (phase) {
    case Phase::login:
      ASSERT_TRUE(wait_for_stderr(*p, "POST /api2/json/access/ticket: sending"))
          << p->stderr_text();
      break;
    case Phase::vncproxy:
      ASSERT_TRUE(wait_for_stderr(*p, "/vncproxy: sending")) << p->stderr_text();
      break;
    case Phase::waiting_for_client:
      ASSERT_TRUE(wait_for_stderr(*p, "]: listening on 127.0.0.1:")) << p->stderr_text();
      break;
    case Phase::streaming: {
      ASSERT_TRUE(wait_for_stderr(*p, "]: listening on 127.0.0.1:")) << p->stderr_text();
      const std::string& err = p->stderr_text();
      const size_t at = err.find("]: listening on 127.0.0.1:") + 26;
      client = std::make_unique<LocalClient>(std::atoi(err.c_str() + at));
      ASSERT_TRUE(wait_for_stderr(*p, "local client connected")) << p->stderr_text();
      // Streaming for real: a megabyte has come through.
      std::vector<uint8_t> buf(64 * 1024);
      size_t got = 0;
      while (got < 1024 * 1024) {
        ssize_t n = client->read_some(buf.data(), buf.size());
        ASSERT_GT(n, 0);
        got += static_cast<size_t>(n);
      }
      break;
    }
    case Phase::viewer_running:
      // The viewer shows the guest's screen.
      ASSERT_TRUE(wait_for_file(*p, path("screen"))) << p->stderr_text();
      break;
  }
  // The listener and its .vv are made while vncproxy runs (the viewer starts in parallel).
  if (phase >= Phase::vncproxy) {
    EXPECT_EQ(entries(tmp).size(), 1u) << "the .vv directory exists while the console runs";
  } else {
    EXPECT_TRUE(entries(tmp).empty());
  }
  p->signal(signum);
  if (client) {
    // A viewer keeps reading until the bridge closes its side.
    std::vector<uint8_t> buf(64 * 1024);
    while (client->read_some(buf.data(), buf.size()) > 0) {
    }
  }
  Outcome o = finish_bounded(*p, start);
  const char* setting[] = {"the login request unanswered (--fault no_reply=/access/ticket)",
                           "vncproxy unanswered (--fault no_reply=/vncproxy)",
                           "--no-viewer, no client yet", "a client read 1 MiB of the source guest",
                           "test-viewer --hold showing the screen"};
  record(std::string("SIG") + sig_name(signum) + " during " + phase_name(phase),
         std::string("kill -") + sig_name(signum) + "; " + setting[static_cast<int>(phase)], o);

  EXPECT_EQ(o.exit_code, 128 + signum) << o.err;
  EXPECT_TRUE(entries(tmp).empty()) << "left behind in TMPDIR: " << entries(tmp)[0];
  EXPECT_TRUE(process_group_gone(p->pid())) << "a child of pvebridge is still running";
  // No console yet: an error line; else the console's closing line.
  const std::string said = std::string("interrupted by SIG") + sig_name(signum);
  EXPECT_EQ(o.line().rfind(phase == Phase::login ? "error: " + said : "console closed: " + said, 0),
            0u)
      << o.err;
  if (phase == Phase::viewer_running) {
    // The viewer was told to go (SIGTERM), it did not just lose its connection.
    EXPECT_NE(o.err.find("pvebridge: viewer exited with code 143"), std::string::npos) << o.err;
  }
}

std::vector<SignalCase> all_cases() {
  std::vector<SignalCase> out;
  for (Phase p : {Phase::login, Phase::vncproxy, Phase::waiting_for_client, Phase::streaming,
                  Phase::viewer_running}) {
    for (int s : {SIGINT, SIGTERM, SIGHUP}) out.push_back({p, s});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Phases, SignalAtPhase, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) {
                           return std::string(phase_name(info.param.phase)) + "_SIG" +
                                  sig_name(info.param.signum);
                         });

}  // namespace
}  // namespace pvb::testing
