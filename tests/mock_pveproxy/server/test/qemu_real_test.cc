// mock-pveproxy --qemu against a real QEMU (qemu-system-x86_64, Debian package qemu-system-x86;
// each test skips when it is not installed): QemuVm starts it and speaks QMP, VNC refuses every
// client until set_password, the password works, a wrong one does not, expire_password ends it;
// failures to start name the reason; the destructor leaves no process behind. Then the whole
// console in process: the mock's websocket relays our RFB client to QEMU through QemuFleet, also
// with the echo guest booted.
//
// Every wait has a hang guard (a QEMU that never answers fails the test, it does not hang it).
#include <gtest/gtest.h>
#include <signal.h>

#include <ctime>
#include <optional>
#include <set>

#include "engine/core/platform.h"
#include "tests/fake_vm/rfb_client.h"
#include "tests/mock_pveproxy/server/qemu_consoles.h"
#include "tests/mock_pveproxy/server/qemu_vm.h"
#include "tests/mock_pveproxy/server/test/harness.h"
#include "tests/mock_pveproxy/server/unix_stream_transport.h"
#include "transports/ws/ws_transport.h"

namespace pvb::mock::test {
namespace {

constexpr uint64_t kGuardMs = 30000;

// Runs the loop until pred() or the hang guard; returns pred().
bool await(Loop& loop, const std::function<bool()>& pred, uint64_t guard_ms = kGuardMs) {
  bool expired = false;
  Timer guard(loop);
  guard.start(guard_ms, [&] { expired = true; });
  loop.run_until([&] { return pred() || expired; });
  return pred();
}

size_t distinct_colours(const RfbSnapshot& shot) {
  std::set<uint32_t> colours;
  for (size_t p = 0; p + 4 <= shot.pixels.size(); p += 4) {
    colours.insert(shot.pixels[p] | shot.pixels[p + 1] << 8 | shot.pixels[p + 2] << 16);
  }
  return colours.size();
}

// A QEMU just started can show one colour for a moment: SeaBIOS has set the text mode (cleared,
// black) and not yet written its first line. It took tens of ms here, longer on a loaded CI
// machine, where one console's first picture came blank (ASan run, fresh-clone CI). Snapshots are
// taken again, 100 ms apart, until one has a picture, an attempt fails, or 15 s pass. The caller
// still asserts the picture, so a QEMU that never draws fails the test.
Result<RfbSnapshot> snapshot_until(Loop& loop, const std::function<Result<RfbSnapshot>()>& take,
                                   const std::function<bool(const RfbSnapshot&)>& wanted) {
  const uint64_t give_up = loop.now_ms() + 15000;
  for (;;) {
    Result<RfbSnapshot> shot = take();
    if (!shot.ok() || wanted(*shot) || loop.now_ms() >= give_up) return shot;
    bool paused = false;
    Timer pause(loop);
    pause.start(100, [&] { paused = true; });
    loop.run_until([&] { return paused; });
  }
}

Result<RfbSnapshot> once_drawn(Loop& loop, const std::function<Result<RfbSnapshot>()>& take) {
  return snapshot_until(loop, take, [](const RfbSnapshot& s) { return distinct_colours(s) >= 2; });
}

// Pixels that are not black in text rows [first_row, first_row + rows) of 16 pixels (VGA text
// mode's 720x400 is 80x25 cells of 9x16); all rows by default.
size_t lit_pixels(const RfbSnapshot& shot, int first_row = 0, int rows = 25) {
  size_t lit = 0;
  const size_t begin = size_t{16} * first_row * shot.width * 4;
  const size_t end = std::min(shot.pixels.size(), size_t{16} * (first_row + rows) * shot.width * 4);
  for (size_t p = begin; p + 4 <= end; p += 4) {
    if ((shot.pixels[p] | shot.pixels[p + 1] | shot.pixels[p + 2]) != 0) ++lit;
  }
  return lit;
}

// Our RFB client straight on a VNC Unix socket: one full screen, or why not.
Result<RfbSnapshot> vnc_snapshot(Loop& loop, const std::string& socket,
                                 const std::string& password) {
  std::optional<Result<RfbSnapshot>> result;
  RfbTestClient client(UnixStreamTransport::connect(loop, socket),
                       RfbClientOptions{.password = password},
                       [&](Result<RfbSnapshot> r) { result = std::move(r); });
  client.start();
  if (!await(loop, [&] { return result.has_value(); })) {
    return Error(Errc::timeout, "no RFB result");
  }
  return *result;
}

class QemuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = find_executable("qemu-system-x86_64");
    if (binary_.empty()) GTEST_SKIP() << "qemu-system-x86_64 is not installed (qemu-system-x86)";
    Result<PrivateDir> d = PrivateDir::create("qemu-test");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }

  std::unique_ptr<QemuVm> make_vm(std::string binary = "") {
    QemuVmConfig c;
    c.binary = binary.empty() ? binary_ : binary;
    c.dir = dir_->path();
    c.vmid = 100;
    c.name = "qmp-test";
    return std::make_unique<QemuVm>(loop_, c, [this](const std::string& l) { logs_ += l + "\n"; });
  }
  Error ready(QemuVm& vm) {
    std::optional<Error> e;
    vm.when_ready([&](const Error& r) { e = r; });
    if (!await(loop_, [&] { return e.has_value(); })) return Error(Errc::timeout, "not ready");
    return *e;
  }
  Error arm(QemuVm& vm, const std::string& password, const std::string& expire) {
    std::optional<Error> e;
    vm.arm_vnc_password(password, expire, [&](const Error& r) { e = r; });
    if (!await(loop_, [&] { return e.has_value(); })) return Error(Errc::timeout, "not armed");
    return *e;
  }
  Result<std::string> qmp(QemuVm& vm, const std::string& command) {
    std::optional<Result<std::string>> r;
    vm.qmp()->execute(command, "", [&](Result<std::string> x) { r = std::move(x); });
    if (!await(loop_, [&] { return r.has_value(); })) return Error(Errc::timeout, "no reply");
    return *r;
  }

  Loop loop_;
  std::string binary_;
  std::optional<PrivateDir> dir_;
  std::string logs_;
};

TEST_F(QemuTest, StartsAndAnswersQmpWithItsVncOnTheUnixSocket) {
  auto vm = make_vm();
  Error e = ready(*vm);
  ASSERT_TRUE(e.ok()) << e.message();
  EXPECT_FALSE(vm->qmp()->qemu_version().empty());
  EXPECT_GT(vm->pid(), 0);
  Result<std::string> vnc = qmp(*vm, "query-vnc");
  ASSERT_TRUE(vnc.ok()) << vnc.error().message();
  EXPECT_NE(vnc->find(R"("auth":"vnc")"), std::string::npos) << *vnc;
  EXPECT_NE(vnc->find(R"("service":")" + vm->vnc_socket() + "\""), std::string::npos) << *vnc;
  Result<std::string> name = qmp(*vm, "query-name");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, R"({"name":"qmp-test"})");
  EXPECT_NE(logs_.find("ready"), std::string::npos) << logs_;
}

TEST_F(QemuTest, VncRefusesEveryoneUntilAPasswordIsSet) {
  auto vm = make_vm();
  ASSERT_TRUE(ready(*vm).ok());
  Result<RfbSnapshot> shot = vnc_snapshot(loop_, vm->vnc_socket(), "anything");
  ASSERT_FALSE(shot.ok());
  EXPECT_EQ(shot.error().code(), Errc::auth) << shot.error().message();
}

TEST_F(QemuTest, ThePasswordOpensTheScreenUntilItExpires) {
  auto vm = make_vm();
  ASSERT_TRUE(ready(*vm).ok());
  ASSERT_TRUE(arm(*vm, "Pr0xm0x!", "+30").ok());
  Result<RfbSnapshot> shot =
      once_drawn(loop_, [&] { return vnc_snapshot(loop_, vm->vnc_socket(), "Pr0xm0x!"); });
  ASSERT_TRUE(shot.ok()) << shot.error().message();
  EXPECT_EQ(shot->name, "QEMU (qmp-test)");  // what Proxmox's -name makes of it
  EXPECT_GE(shot->width, 640);
  EXPECT_GE(distinct_colours(*shot), 2u) << "a blank screen";

  Result<RfbSnapshot> wrong = vnc_snapshot(loop_, vm->vnc_socket(), "Pr0xm0x?");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Errc::auth);

  // expire_password "now": the very same password is refused from then on.
  ASSERT_TRUE(arm(*vm, "Pr0xm0x!", "now").ok());
  Result<RfbSnapshot> expired = vnc_snapshot(loop_, vm->vnc_socket(), "Pr0xm0x!");
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code(), Errc::auth);
}

TEST_F(QemuTest, ATicketAsPasswordCountsByItsFirstEightBytes) {
  auto vm = make_vm();
  ASSERT_TRUE(ready(*vm).ok());
  // Without generate-password the VNC password is the whole ticket, as Proxmox sets it.
  const std::string ticket = "PVEVNC:6745ABCD::c2lnbmF0dXJlLW9mLXRoZS10aWNrZXQ=";
  ASSERT_TRUE(arm(*vm, ticket, "+30").ok());
  for (const std::string& password : {ticket, ticket.substr(0, 8)}) {
    Result<RfbSnapshot> shot = vnc_snapshot(loop_, vm->vnc_socket(), password);
    EXPECT_TRUE(shot.ok()) << shot.error().message();
  }
}

TEST_F(QemuTest, ThePasswordExpiresAfterItsLife) {
  auto vm = make_vm();
  ASSERT_TRUE(ready(*vm).ok());
  ASSERT_TRUE(arm(*vm, "short-1s", "+1").ok());
  const time_t armed = std::time(nullptr);  // QEMU took its "now" at or before this
  Result<RfbSnapshot> fresh = vnc_snapshot(loop_, vm->vnc_socket(), "short-1s");
  ASSERT_TRUE(fresh.ok()) << fresh.error().message();
  // QEMU refuses once its clock (whole seconds) is past now + 1: at most two seconds from here.
  Timer tick(loop_);
  tick.start_repeat(50, 50, [] {});
  ASSERT_TRUE(await(
      loop_, [&] { return std::time(nullptr) >= armed + 2; }, 5000));
  Result<RfbSnapshot> later = vnc_snapshot(loop_, vm->vnc_socket(), "short-1s");
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code(), Errc::auth);
}

TEST_F(QemuTest, AMissingBinaryIsNamed) {
  auto vm = make_vm("/nonexistent/qemu-system-x86_64");
  Error e = ready(*vm);
  ASSERT_TRUE(e.failed());
  EXPECT_NE(e.message().find("cannot run /nonexistent/qemu-system-x86_64"), std::string::npos)
      << e.message();
  EXPECT_TRUE(vm->dead());
  // Asking again answers at once with the same reason.
  EXPECT_EQ(ready(*vm).message(), e.message());
}

TEST_F(QemuTest, AQemuThatExitsAtOnceIsReportedWithItsLastWords) {
  // /bin/sh refuses QEMU's options, says so on stderr (the log) and exits 2.
  auto vm = make_vm("/bin/sh");
  Error e = ready(*vm);
  ASSERT_TRUE(e.failed());
  EXPECT_NE(e.message().find("exited with status 2"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find(vm->log_file() + ": "), std::string::npos) << e.message();
  Error armed = arm(*vm, "x", "+30");
  EXPECT_TRUE(armed.failed());
}

TEST_F(QemuTest, AKilledQemuIsNoticedAndTheDestructorLeavesNoProcess) {
  auto vm = make_vm();
  ASSERT_TRUE(ready(*vm).ok());
  const pid_t pid = vm->pid();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_TRUE(await(loop_, [&] { return vm->dead(); }));
  EXPECT_EQ(::kill(pid, 0), -1);  // reaped, not a zombie
  EXPECT_EQ(errno, ESRCH);

  auto second = make_vm();
  ASSERT_TRUE(ready(*second).ok());
  const pid_t second_pid = second->pid();
  second.reset();
  EXPECT_EQ(::kill(second_pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

// --- the whole console in process: websocket -> relay -> QemuConsole -> QEMU ---------------------

std::unique_ptr<WsTransport> ws_client(Harness& h, uint32_t vmid, const ConsoleTicket& console) {
  WsClientOptions o;
  o.host_header = "localhost";
  o.path = h.websocket_target(vmid, console);
  o.headers.add("Authorization", token_auth());
  return WsTransport::client(h.open_connection(), std::move(o), h.random);
}

Result<RfbSnapshot> console_snapshot(Harness& h, uint32_t vmid) {
  std::optional<ConsoleTicket> console = h.vncproxy(vmid);
  if (!console) return Error(Errc::internal, "vncproxy failed");
  std::string password = console->password.empty() ? console->ticket : console->password;
  std::optional<Result<RfbSnapshot>> result;
  RfbTestClient client(ws_client(h, vmid, *console), RfbClientOptions{.password = password},
                       [&](Result<RfbSnapshot> r) { result = std::move(r); });
  client.start();
  if (!await(h.loop, [&] { return result.has_value(); })) return Error(Errc::timeout, "no RFB");
  client.close();
  await(h.loop, [&] { return h.server->console_sessions() == 0; });
  return *result;
}

class QemuFleetTest : public QemuTest {
 protected:
  std::unique_ptr<QemuFleet> install(Harness& h, std::string binary = "") {
    QemuFleetOptions o;
    o.binary = binary.empty() ? binary_ : binary;
    auto fleet = QemuFleet::create(h.loop, o, [&h](const std::string& l) { h.logs.push_back(l); });
    EXPECT_TRUE(fleet.ok());
    if (!fleet.ok()) return nullptr;
    (*fleet)->install();
    return std::move(*fleet);
  }
};

TEST_F(QemuFleetTest, QemuGuestsGetARealQemuStartedOnceAndLxcKeepsTheFakeVm) {
  Harness h;
  auto fleet = install(h);
  ASSERT_TRUE(fleet);
  EXPECT_EQ(fleet->vms_made(), 0u);  // nothing starts before a console asks
  for (int i = 0; i < 2; ++i) {
    Result<RfbSnapshot> shot = once_drawn(h.loop, [&] { return console_snapshot(h, 100); });
    ASSERT_TRUE(shot.ok()) << shot.error().message();
    EXPECT_EQ(shot->name, "QEMU (web01)");
    EXPECT_GE(distinct_colours(*shot), 2u);
  }
  EXPECT_EQ(fleet->vms_made(), 1u);  // the second console reused the guest's QEMU
  Result<RfbSnapshot> unnamed = console_snapshot(h, 110);
  ASSERT_TRUE(unnamed.ok()) << unnamed.error().message();
  EXPECT_EQ(unnamed->name, "QEMU (vm110)");
  Result<RfbSnapshot> container = console_snapshot(h, 200);
  ASSERT_TRUE(container.ok()) << container.error().message();
  EXPECT_EQ(container->name, "ct-web");  // the fake VM: vncterm's stand-in
  EXPECT_EQ(fleet->vms_made(), 2u);
  EXPECT_TRUE(h.log_contains("VNC password set in QEMU, expires +30"));
}

// The echo guest (--qemu-echo-guest): SeaBIOS boots it and it prints its banner on the third
// text row, under SeaBIOS's two; then the screen stands still (no blinking cursor) until keys are
// typed, and each key typed over QMP shows on the fourth row.
TEST_F(QemuFleetTest, TheEchoGuestStandsStillAndShowsEachKeyTyped) {
  Harness h;
  QemuFleetOptions o;
  o.binary = binary_;
  o.echo_guest = true;
  auto fleet = QemuFleet::create(h.loop, o, [&h](const std::string& l) { h.logs.push_back(l); });
  ASSERT_TRUE(fleet.ok()) << fleet.error().message();
  (*fleet)->install();
  EXPECT_EQ((*fleet)->type_step(), 0u);  // no QEMU runs yet: nothing typed
  auto take = [&] { return console_snapshot(h, 100); };
  const int kBannerRow = 2, kKeysRow = 3;
  Result<RfbSnapshot> booted = snapshot_until(h.loop, take, [&](const RfbSnapshot& s) {
    return s.width == 720 && lit_pixels(s, kBannerRow, 1) > 500;
  });
  ASSERT_TRUE(booted.ok()) << booted.error().message();
  ASSERT_GT(lit_pixels(*booted, kBannerRow, 1), 500u) << "the echo guest's banner never showed";
  EXPECT_EQ(lit_pixels(*booted, kKeysRow, 1), 0u) << "a cursor or a key before any was typed";

  bool paused = false;
  Timer pause(h.loop);
  pause.start(700, [&] { paused = true; });  // longer than a VGA cursor blink (about 270 ms)
  ASSERT_TRUE(await(h.loop, [&] { return paused; }));
  Result<RfbSnapshot> still = take();
  ASSERT_TRUE(still.ok()) << still.error().message();
  EXPECT_EQ(still->pixels, booted->pixels) << "the screen changed with nothing typed";

  for (int i = 0; i < 5; ++i) EXPECT_EQ((*fleet)->type_step(), 1u);  // "abcde"
  Result<RfbSnapshot> typed = snapshot_until(
      h.loop, take, [&](const RfbSnapshot& s) { return lit_pixels(s, kKeysRow, 1) >= 100; });
  ASSERT_TRUE(typed.ok()) << typed.error().message();
  EXPECT_GE(lit_pixels(*typed, kKeysRow, 1), 100u) << "five keys typed, none shown";
  EXPECT_EQ(lit_pixels(*typed, 0, kKeysRow), lit_pixels(*booted, 0, kKeysRow))
      << "the rows above the keys changed";
  EXPECT_FALSE(h.log_contains("send-key")) << "a key was refused";
}

TEST_F(QemuFleetTest, AnExpiredPasswordIsRefusedByQemu) {
  MockOptions o;
  o.vnc_password_life_s = -1;  // expired as soon as the websocket connects
  Harness h(o);
  auto fleet = install(h);
  ASSERT_TRUE(fleet);
  Result<RfbSnapshot> shot = console_snapshot(h, 100);
  ASSERT_FALSE(shot.ok());
  EXPECT_EQ(shot.error().code(), Errc::auth) << shot.error().message();
  EXPECT_TRUE(h.log_contains("expires now"));
}

TEST_F(QemuFleetTest, AQemuThatCannotStartEndsTheConsoleWithTheReason) {
  Harness h;
  auto fleet = install(h, "/nonexistent/qemu");
  ASSERT_TRUE(fleet);
  Result<RfbSnapshot> shot = console_snapshot(h, 100);
  ASSERT_FALSE(shot.ok());
  EXPECT_TRUE(h.log_contains("cannot run /nonexistent/qemu"));
  ASSERT_EQ(h.server->finished_consoles().size(), 1u);
  EXPECT_EQ(h.server->finished_consoles()[0].relay.ended_by, RelayResult::End::vm);
}

}  // namespace
}  // namespace pvb::mock::test
