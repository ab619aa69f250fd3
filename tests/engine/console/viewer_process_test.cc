#include "engine/console/viewer_process.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "engine/core/platform.h"

namespace pvb {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct ViewerTest : ::testing::Test {
  void SetUp() override {
    auto d = PrivateDir::create("pvb-viewer-test");
    ASSERT_TRUE(d.ok());
    dir.emplace(std::move(*d));
  }
  Loop loop;
  std::optional<PrivateDir> dir;
};

TEST_F(ViewerTest, PassesVvLastFeedsStdinAndCleansEnvironment) {
  setenv("PVE_PASSWORD", "hunter2", 1);
  setenv("PVE_API_TOKEN", "root@pam!x=tok", 1);
  setenv("PVB_VIEWER_TEST", "visible", 1);
  std::string out = dir->path() + "/out";
  ViewerOptions o;
  o.program = "sh";
  // sh -c SCRIPT sh --kiosk VV: $1 = --kiosk, $2 = the .vv argument.
  o.args = {"-c", "{ echo \"args:$#:$1:$2\"; cat; echo; env; } > " + out + "; exit 3", "sh",
            "--kiosk"};
  bool exited = false;
  int64_t status = -1;
  auto v = ViewerProcess::spawn(loop, o, "-", "[virt-viewer]\npassword=abc\n", [&](int64_t s, int) {
    exited = true;
    status = s;
  });
  ASSERT_TRUE(v.ok()) << v.error().message();
  ASSERT_TRUE(loop.run_until([&] { return exited; }));
  EXPECT_EQ(status, 3);
  std::string got = slurp(out);
  EXPECT_NE(got.find("args:2:--kiosk:-"), std::string::npos) << got;
  EXPECT_NE(got.find("[virt-viewer]\npassword=abc\n"), std::string::npos) << got;
  EXPECT_NE(got.find("PVB_VIEWER_TEST=visible"), std::string::npos);
  EXPECT_EQ(got.find("hunter2"), std::string::npos);
  EXPECT_EQ(got.find("PVE_"), std::string::npos);
}

TEST_F(ViewerTest, StandardErrorIsOursBoundedAndLineByLine) {
  ViewerOptions o;
  o.program = "sh";
  o.args = {"-c",
            "i=0; while [ $i -lt 200 ]; do echo \"(remote-viewer:42): Gtk-WARNING line $i\" >&2; "
            "i=$((i+1)); done; printf 'no newline at the end' >&2; exit 2",
            "sh"};
  o.stderr_keep_bytes = 256;
  std::vector<std::string> lines;
  o.on_stderr_line = [&](std::string_view l) { lines.emplace_back(l); };
  bool exited = false;
  std::string tail;
  std::unique_ptr<ViewerProcess> viewer;
  auto v = ViewerProcess::spawn(loop, o, "x.vv", "", [&](int64_t status, int) {
    EXPECT_EQ(status, 2);
    exited = true;
    tail = viewer->stderr_tail(3);  // complete when the exit is reported
  });
  ASSERT_TRUE(v.ok()) << v.error().message();
  viewer = std::move(*v);
  ASSERT_TRUE(loop.run_until([&] { return exited; }));
  ASSERT_EQ(lines.size(), 201u);
  EXPECT_EQ(lines[0], "(remote-viewer:42): Gtk-WARNING line 0");
  EXPECT_EQ(lines[199], "(remote-viewer:42): Gtk-WARNING line 199");
  EXPECT_EQ(lines[200], "no newline at the end");
  EXPECT_EQ(tail,
            "(remote-viewer:42): Gtk-WARNING line 198\n(remote-viewer:42): Gtk-WARNING line "
            "199\nno newline at the end");
  // Only the last 256 bytes were kept: the first line is long gone.
  EXPECT_EQ(viewer->stderr_tail(100).find("line 0\n"), std::string::npos);
  EXPECT_LE(viewer->stderr_tail(100).size(), 256u);
}

TEST_F(ViewerTest, MissingProgramNamesThePackage) {
  ViewerOptions o;
  o.program = "no-such-viewer-pvb";
  auto v = ViewerProcess::spawn(loop, o, "/tmp/x.vv", "", [](int64_t, int) {});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code(), Errc::viewer);
  EXPECT_NE(v.error().detail().find("virt-viewer"), std::string::npos);
}

TEST_F(ViewerTest, TerminateAfterGraceSendsSigterm) {
  ViewerOptions o;
  o.program = "sleep";
  bool exited = false;
  int sig = 0;
  auto v = ViewerProcess::spawn(loop, o, "30", "", [&](int64_t, int s) {
    exited = true;
    sig = s;
  });
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE((*v)->running());
  (*v)->terminate_after(10);
  ASSERT_TRUE(loop.run_until([&] { return exited; }));
  EXPECT_EQ(sig, SIGTERM);
  EXPECT_FALSE((*v)->running());
}

TEST_F(ViewerTest, DestroyingTheHandleTerminatesTheViewer) {
  ViewerOptions o;
  o.program = "sleep";
  int pid = 0;
  {
    auto v = ViewerProcess::spawn(loop, o, "30", "", [](int64_t, int) {});
    ASSERT_TRUE(v.ok());
    pid = (*v)->pid();
  }
  // The child is reaped by libuv once it exits; wait for that.
  ASSERT_TRUE(loop.run_until([&] { return kill(pid, 0) != 0; }));
}

}  // namespace
}  // namespace pvb
