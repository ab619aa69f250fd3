// What a console session tells a human on stderr: with several consoles at once, every line
// names its guest (issue 17, item 4); with one, lines stay short.
#include "frontends/cli/output.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace pvb {
namespace {

// Runs fn with stderr going to a temporary file; returns what was written.
template <typename Fn>
std::string captured_stderr(Fn fn) {
  std::fflush(stderr);
  char path[] = "/tmp/pvb-output-test-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  fn();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  unlink(path);
  return ss.str();
}

void session_lines(Output& out) {
  out.on_client_connected(1, 1);
  out.on_client_connected(2, 1);
  SessionEnd end;
  end.reason = CloseReason::client_closed;
  out.on_closed(2, end);
  out.on_viewer_exited(1, 3, "");
  out.error(1, Error(Errc::connection_lost, "boom"));
}

TEST(Output, SeveralConsolesNameTheirGuestOnEveryLine) {
  Output out(false, false);
  out.name_session(1, "web01 (100)");
  out.name_session(2, "db01 (101)");
  EXPECT_EQ(captured_stderr([&] { session_lines(out); }),
            "pvebridge: web01 (100): viewer connected\n"
            "pvebridge: db01 (101): viewer connected\n"
            "pvebridge: db01 (101): console closed: the viewer disconnected (0 bytes from the "
            "guest, 0 bytes to it)\n"
            "pvebridge: web01 (100): viewer exited with code 3\n"
            "pvebridge: web01 (100): error: boom\n");
}

// A failed viewer's last stderr lines follow the line naming the guest.
TEST(Output, ViewerOutputFollowsItsSessionsLine) {
  Output out(false, false);
  out.name_session(1, "web01 (100)");
  out.name_session(2, "db01 (101)");
  EXPECT_EQ(captured_stderr([&] { out.on_viewer_exited(1, 1, "cannot open display\nbye"); }),
            "pvebridge: web01 (100): viewer exited with code 1; its last messages:\n"
            "  cannot open display\n"
            "  bye\n");
}

TEST(Output, OneConsoleKeepsItsLinesShort) {
  Output out(false, false);
  out.name_session(1, "web01 (100)");
  std::string text = captured_stderr([&] { out.on_client_connected(1, 1); });
  EXPECT_EQ(text, "pvebridge: viewer connected\n");
}

// A console the server ended and that could not be reconnected within --reconnect says so; a plain
// end of the console keeps the short line.
TEST(Output, AServerEndAfterAReconnectBudgetSaysTheBudgetWasSpent) {
  Output out(false, false);
  out.name_session(1, "web01 (100)");
  SessionEnd end;
  end.reason = CloseReason::server_closed;
  end.error = Error(Errc::connection_lost,
                    "the server ended the console; no new connection within 2 s (--reconnect; "
                    "last attempt: connection refused)");
  EXPECT_EQ(captured_stderr([&] { out.on_closed(1, end); }),
            "pvebridge: console closed: the server ended the console; no new connection within 2 "
            "s (--reconnect; last attempt: connection refused) (0 bytes from the guest, 0 bytes "
            "to it)\n");
  end.error = Error();
  EXPECT_EQ(captured_stderr([&] { out.on_closed(1, end); }),
            "pvebridge: console closed: the server ended the console (0 bytes from the guest, 0 "
            "bytes to it)\n");
}

}  // namespace
}  // namespace pvb
