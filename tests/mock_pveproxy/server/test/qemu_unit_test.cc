// The pieces of mock-pveproxy --qemu that need no QEMU: its command line and expiry times, the
// echo guest's disk, the flags, UnixStreamTransport and QmpClient against a scripted Unix socket
// server (every QMP corner QEMU itself would rarely show: events between replies, errors, replies
// without an id, a socket that appears late or never, a connection lost mid-command).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <regex>

#include "engine/core/platform.h"
#include "tests/mock_pveproxy/server/qemu_echo_guest.h"
#include "tests/mock_pveproxy/server/qemu_vm.h"
#include "tests/mock_pveproxy/server/qmp_client.h"
#include "tests/mock_pveproxy/server/server_args.h"
#include "tests/mock_pveproxy/server/test/harness.h"
#include "tests/mock_pveproxy/server/test/qemu_fake_unix_server.h"
#include "tests/mock_pveproxy/server/unix_stream_transport.h"

namespace pvb::mock::test {
namespace {

// Runs the loop until pred() or a hang guard (the listening server keeps the loop busy forever).
bool await(Loop& loop, const std::function<bool()>& pred) {
  bool expired = false;
  Timer guard(loop);
  guard.start(10000, [&] { expired = true; });
  loop.run_until([&] { return pred() || expired; });
  return pred();
}

// --- the command line, the expiry, the flags -----------------------------------------------------

TEST(QemuCommandLine, IsAProxmoxDisplayWithoutDisksUnlessTheEchoGuestIsAsked) {
  QemuVmConfig c;
  c.binary = "/usr/bin/qemu-system-x86_64";
  c.dir = "/run/mock,dir";
  c.vmid = 100;
  c.name = "web,01";
  std::vector<std::string> expected = {"/usr/bin/qemu-system-x86_64",
                                       "-name",
                                       "guest=web,,01",
                                       "-display",
                                       "none",
                                       "-vnc",
                                       "unix:/run/mock,,dir/100.vnc,password=on",
                                       "-qmp",
                                       "unix:/run/mock,,dir/100.qmp,server=on,wait=off",
                                       "-nodefaults",
                                       "-no-user-config",
                                       "-vga",
                                       "std",
                                       "-m",
                                       "32",
                                       "-machine",
                                       "accel=tcg"};
  EXPECT_EQ(qemu_command_line(c), expected);

  // The echo guest's disk (--qemu-echo-guest): the same, and the first IDE disk, raw.
  c.boot_disk = "/run/mock,dir/echo-guest.img";
  expected.insert(expected.end(),
                  {"-drive", "file=/run/mock,,dir/echo-guest.img,format=raw,if=ide,index=0"});
  EXPECT_EQ(qemu_command_line(c), expected);
}

TEST(EchoGuest, IsOneBootableSectorWhoseCodeFindsItsBanner) {
  const std::vector<uint8_t> sector = echo_guest_boot_sector();
  ASSERT_EQ(sector.size(), 512u);
  EXPECT_EQ(sector[510], 0x55);  // what SeaBIOS checks before it boots a disk
  EXPECT_EQ(sector[511], 0xAA);
  // mov si, imm16 (0xBE) loads the banner's address, 0x7C00 + its offset in the sector.
  const auto mov_si = std::find(sector.begin(), sector.end(), 0xBE);
  ASSERT_NE(mov_si, sector.end());
  const size_t banner = (mov_si[1] | mov_si[2] << 8) - 0x7C00;
  const std::string text(reinterpret_cast<const char*>(sector.data()) + banner);
  EXPECT_EQ(text, "pvebridge echo guest: each key typed shows here\r\n");
  EXPECT_EQ(echo_guest_key(0), "a");
  EXPECT_EQ(echo_guest_key(25), "z");
  EXPECT_EQ(echo_guest_key(26), "a");
}

TEST(EchoGuest, IsWrittenPrivately) {
  Result<PrivateDir> d = PrivateDir::create("echo-guest");
  ASSERT_TRUE(d.ok());
  const std::string path = d->path() + "/disk.img";
  ASSERT_TRUE(write_echo_guest(path).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 512);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(write_echo_guest(d->path() + "/missing/disk.img").code(), Errc::io);
}

TEST(QemuCommandLine, ExpireTimeIsRelativeLikeProxmoxOrNow) {
  EXPECT_EQ(qmp_expire_time(1030, 1000), "+30");
  EXPECT_EQ(qmp_expire_time(1000, 1000), "+0");  // valid until the clock moves past it
  EXPECT_EQ(qmp_expire_time(999, 1000), "now");
}

Result<ParsedArgs> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "mock-pveproxy");
  return parse_server_args(static_cast<int>(args.size()), args.data());
}

TEST(QemuFlags, QemuAndQemuBinary) {
  EXPECT_FALSE(parse({})->config.qemu);
  Result<ParsedArgs> a = parse({"--qemu"});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->config.qemu);
  EXPECT_EQ(a->config.qemu_binary, "");
  for (auto args : {std::vector<const char*>{"--qemu-binary", "/opt/qemu"},
                    std::vector<const char*>{"--qemu-binary=/opt/qemu"}}) {
    Result<ParsedArgs> b = parse(args);
    ASSERT_TRUE(b.ok()) << b.error().message();
    EXPECT_TRUE(b->config.qemu);  // implied
    EXPECT_EQ(b->config.qemu_binary, "/opt/qemu");
  }
  for (auto bad :
       {std::vector<const char*>{"--qemu=yes"}, std::vector<const char*>{"--qemu-binary"},
        std::vector<const char*>{"--qemu-binary="}}) {
    Result<ParsedArgs> r = parse(bad);
    ASSERT_FALSE(r.ok()) << bad[0];
    EXPECT_EQ(r.error().code(), Errc::usage);
  }
  EXPECT_NE(std::string(kServerUsage).find("--qemu "), std::string::npos);
  EXPECT_NE(std::string(kServerUsage).find("--qemu-binary PATH"), std::string::npos);
}

TEST(QemuFlags, EchoGuestImpliesQemu) {
  EXPECT_FALSE(parse({"--qemu"})->config.qemu_echo_guest);
  Result<ParsedArgs> a = parse({"--qemu-echo-guest"});
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_TRUE(a->config.qemu);
  EXPECT_TRUE(a->config.qemu_echo_guest);
  Result<ParsedArgs> bad = parse({"--qemu-echo-guest=yes"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::usage);
  EXPECT_NE(std::string(kServerUsage).find("--qemu-echo-guest"), std::string::npos);
}

// --- UnixStreamTransport -------------------------------------------------------------------------

class UnixSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<PrivateDir> d = PrivateDir::create("qemu-unit");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string path(const std::string& name) const { return dir_->path() + "/" + name; }

  Loop loop_;
  std::optional<PrivateDir> dir_;
};

// Collector, and whether the write marks fired.
struct MarkCollector : Collector {
  bool high = false, low = false;
  void on_write_high() override { high = true; }
  void on_write_low() override { low = true; }
};

TEST_F(UnixSocketTest, NothingAtThePathIsConnectWithENOENT) {
  auto t = UnixStreamTransport::connect(loop_, path("absent.sock"));
  Collector c;
  t->set_sink(&c);
  t->start();
  ASSERT_TRUE(await(loop_, [&] { return c.closed; }));
  EXPECT_EQ(c.error.code(), Errc::connect);
  EXPECT_EQ(c.error.native(), UV_ENOENT);
  EXPECT_NE(c.error.message().find("absent.sock"), std::string::npos);
}

TEST_F(UnixSocketTest, APathTooLongIsRefusedNotTruncated) {
  auto t = UnixStreamTransport::connect(loop_, "/tmp/" + std::string(200, 'x'));
  Collector c;
  t->set_sink(&c);
  t->start();
  ASSERT_TRUE(await(loop_, [&] { return c.closed; }));
  EXPECT_EQ(c.error.code(), Errc::connect);
  EXPECT_EQ(c.error.native(), UV_ENAMETOOLONG);
}

TEST_F(UnixSocketTest, BytesAndEndsBothWays) {
  FakeUnixServer server(loop_, path("s.sock"));
  ASSERT_TRUE(server.ok());
  auto t = UnixStreamTransport::connect(loop_, path("s.sock"));
  Collector c;
  t->set_sink(&c);
  ByteChain hello("hello");
  t->write(hello, /*end_stream=*/true);  // before start: queued until connected
  EXPECT_TRUE(hello.empty());
  t->start();
  ASSERT_TRUE(await(loop_, [&] { return server.connections() == 1 && server.ended(0); }));
  EXPECT_TRUE(c.connected);
  EXPECT_EQ(server.received(0), "hello");
  server.send(0, "world");
  server.close_connection(0);
  ASSERT_TRUE(await(loop_, [&] { return c.ended; }));
  EXPECT_EQ(c.data, "world");
  t->close(CloseMode::Flush);
  ASSERT_TRUE(await(loop_, [&] { return c.closed; }));
  EXPECT_TRUE(c.error.ok());
}

TEST_F(UnixSocketTest, CloseFlushSendsEverythingFirst) {
  FakeUnixServer server(loop_, path("s.sock"));
  ASSERT_TRUE(server.ok());
  auto t = UnixStreamTransport::connect(loop_, path("s.sock"));
  Collector c;
  t->set_sink(&c);
  t->start();
  std::string big(3 * 1024 * 1024, 'q');
  ByteChain data(big);
  t->write(data);
  t->close(CloseMode::Flush);
  ASSERT_TRUE(await(loop_, [&] { return c.closed; }));
  EXPECT_TRUE(c.error.ok());
  ASSERT_TRUE(await(loop_, [&] { return server.connections() == 1 && server.ended(0); }));
  EXPECT_EQ(server.received(0).size(), big.size());
}

TEST_F(UnixSocketTest, ReadingPausesAndResumesWithLeftoversReoffered) {
  FakeUnixServer server(loop_, path("s.sock"));
  ASSERT_TRUE(server.ok());
  auto t = UnixStreamTransport::connect(loop_, path("s.sock"));
  // Takes one byte per delivery and pauses in front of the rest, as a sink waiting for room
  // does: after the resume the rest must be offered again, though the peer sends nothing more.
  struct OneByte : Collector {
    Transport* transport = nullptr;
    bool paused = false;
    void on_data(ByteChain& chain, bool end_stream) override {
      if (!chain.empty()) {
        data += chain.to_string(1);
        chain.drain(1);
      }
      if (!chain.empty() && !paused) {
        paused = true;
        transport->read_disable(true);
      }
      if (end_stream) ended = true;
    }
  } c;
  c.transport = t.get();
  t->set_sink(&c);
  t->read_disable(true);
  t->start();
  ASSERT_TRUE(await(loop_, [&] { return server.connections() == 1 && c.connected; }));
  server.send(0, "abc");
  // Nothing arrives while paused: run until the server's write surely went out.
  bool waited = false;
  Timer timer(loop_);
  timer.start(50, [&] { waited = true; });
  await(loop_, [&] { return waited; });
  EXPECT_EQ(c.data, "");
  t->read_disable(false);
  for (size_t expected = 1; expected <= 3; ++expected) {
    ASSERT_TRUE(await(loop_, [&] { return c.data.size() == expected; })) << expected;
    if (c.paused) {
      c.paused = false;
      t->read_disable(false);
    }
  }
  EXPECT_EQ(c.data, "abc");
}

TEST_F(UnixSocketTest, APeerThatReadsNothingRaisesTheWriteMark) {
  FakeUnixServer server(loop_, path("s.sock"));
  ASSERT_TRUE(server.ok());
  server.on_accept = [&](size_t i) { server.pause_reading(i); };
  auto t = UnixStreamTransport::connect(loop_, path("s.sock"));
  MarkCollector c;
  t->set_sink(&c);
  t->start();
  ByteChain data(std::string(8 * 1024 * 1024, 'z'));  // more than the kernel buffers hold
  t->write(data);
  ASSERT_TRUE(await(loop_, [&] { return c.high; }));
  EXPECT_GT(t->pending_write_bytes(), Transport::kDefaultHighMark);
  t->close(CloseMode::Abort);
  ASSERT_TRUE(await(loop_, [&] { return c.closed; }));
  EXPECT_TRUE(c.error.ok());
  EXPECT_EQ(t->pending_write_bytes(), 0u);
}

// --- QmpClient against a scripted server ---------------------------------------------------------

constexpr const char* kGreeting =
    R"({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, )"
    R"("capabilities": ["oob"]}})"
    "\r\n";

std::optional<int> id_of(const std::string& line) {
  std::smatch m;
  if (!std::regex_search(line, m, std::regex(R"("id":(\d+))"))) return std::nullopt;
  return std::stoi(m[1]);
}

// A QMP server that greets, accepts qmp_capabilities, and hands every other command to `answer`.
class ScriptedQmp {
 public:
  ScriptedQmp(Loop& loop, const std::string& path) : server(loop, path) {
    server.on_accept = [this](size_t i) {
      if (greet) server.send(i, kGreeting);
    };
    server.on_line = [this](size_t i, const std::string& line) {
      lines.push_back(line);
      if (line.find("\"qmp_capabilities\"") != std::string::npos) {
        server.send(i, R"({"return": {}, "id": )" + std::to_string(*id_of(line)) + "}\r\n");
      } else if (answer) {
        answer(i, line);
      }
    };
  }
  FakeUnixServer server;
  bool greet = true;
  std::vector<std::string> lines;
  std::function<void(size_t, const std::string&)> answer;
};

class QmpClientTest : public UnixSocketTest {
 protected:
  // Starts the client and runs until it is ready (or failed).
  Error start(QmpClient& client) {
    std::optional<Error> ready;
    client.start([&](const Error& e) { ready = e; });
    await(loop_, [&] { return ready.has_value(); });
    return ready.value_or(Error(Errc::internal, "never ready"));
  }
  Result<std::string> run(QmpClient& client, const std::string& command,
                          const std::string& args = "") {
    std::optional<Result<std::string>> reply;
    client.execute(command, args, [&](Result<std::string> r) { reply = std::move(r); });
    await(loop_, [&] { return reply.has_value(); });
    if (!reply) return Error(Errc::internal, "no reply");
    return *reply;
  }
};

TEST_F(QmpClientTest, NegotiatesFirstThenRunsQueuedCommandsInOrder) {
  ScriptedQmp qmp(loop_, path("q.sock"));
  ASSERT_TRUE(qmp.server.ok());
  qmp.answer = [&](size_t i, const std::string& line) {
    std::string id = std::to_string(*id_of(line));
    // An event between the replies, as QEMU sends them whenever they happen.
    qmp.server.send(i, R"({"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESET"})"
                       "\r\n");
    qmp.server.send(i,
                    R"({"return": {"running": true, "status": "running"}, "id": )" + id + "}\r\n");
  };
  QmpClient client(loop_, path("q.sock"));
  std::vector<std::string> replies;
  for (int i = 0; i < 2; ++i) {  // queued before the client is even connected
    client.execute("query-status", "", [&](Result<std::string> r) {
      replies.push_back(r.ok() ? *r : r.error().message());
    });
  }
  ASSERT_TRUE(start(client).ok());
  EXPECT_EQ(client.qemu_version(), "7.2.22");
  ASSERT_TRUE(await(loop_, [&] { return replies.size() == 2; }));
  EXPECT_EQ(replies[0], R"({"running":true,"status":"running"})");
  EXPECT_EQ(replies[1], replies[0]);
  EXPECT_EQ(client.events_seen(), 2u);
  ASSERT_EQ(qmp.lines.size(), 3u);
  EXPECT_EQ(qmp.lines[0], R"({"execute":"qmp_capabilities","id":1})");
  EXPECT_EQ(qmp.lines[1], R"({"execute":"query-status","id":2})");
  EXPECT_EQ(qmp.lines[2], R"({"execute":"query-status","id":3})");
}

TEST_F(QmpClientTest, ArgumentsGoVerbatimAndErrorsNeverRepeatThem) {
  ScriptedQmp qmp(loop_, path("q.sock"));
  ASSERT_TRUE(qmp.server.ok());
  qmp.answer = [&](size_t i, const std::string& line) {
    qmp.server.send(i, R"({"error": {"class": "GenericError", "desc": "Could not set password"}, )"
                       R"("id": )" +
                           std::to_string(*id_of(line)) + "}\r\n");
  };
  QmpClient client(loop_, path("q.sock"));
  ASSERT_TRUE(start(client).ok());
  Result<std::string> r =
      run(client, "set_password", R"({"protocol":"vnc","password":"s3cret!!"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::protocol);
  EXPECT_EQ(r.error().message(), "QMP set_password failed (GenericError): Could not set password");
  EXPECT_EQ(r.error().message().find("s3cret"), std::string::npos);
  ASSERT_EQ(qmp.lines.size(), 2u);
  EXPECT_EQ(qmp.lines[1],
            R"({"execute":"set_password","arguments":{"protocol":"vnc","password":"s3cret!!"},)"
            R"("id":2})");
}

TEST_F(QmpClientTest, AReplyWithoutIdGoesToTheOldestCommand) {
  ScriptedQmp qmp(loop_, path("q.sock"));
  ASSERT_TRUE(qmp.server.ok());
  size_t answered = 0;
  qmp.answer = [&](size_t i, const std::string&) {
    // QEMU answers input it could not parse without an id.
    if (answered++ == 0) {
      qmp.server.send(i, R"({"error": {"class": "GenericError", "desc": "JSON parse error"}})"
                         "\r\n");
    } else {
      qmp.server.send(i, "{\"return\": {}}\r\n");
    }
  };
  QmpClient client(loop_, path("q.sock"));
  ASSERT_TRUE(start(client).ok());
  std::vector<std::string> order;
  client.execute("first", "", [&](Result<std::string> r) {
    order.push_back("first:" + std::string(r.ok() ? "ok" : "error"));
  });
  client.execute("second", "", [&](Result<std::string> r) {
    order.push_back("second:" + std::string(r.ok() ? "ok" : "error"));
  });
  ASSERT_TRUE(await(loop_, [&] { return order.size() == 2; }));
  EXPECT_EQ(order, (std::vector<std::string>{"first:error", "second:ok"}));
}

TEST_F(QmpClientTest, RetriesUntilTheSocketAppears) {
  QmpClient client(loop_, path("late.sock"));
  std::optional<Error> ready;
  client.start([&](const Error& e) { ready = e; });
  std::unique_ptr<ScriptedQmp> qmp;
  Timer later(loop_);
  later.start(60, [&] { qmp = std::make_unique<ScriptedQmp>(loop_, path("late.sock")); });
  ASSERT_TRUE(await(loop_, [&] { return ready.has_value(); }));
  EXPECT_TRUE(ready->ok()) << ready->message();
  EXPECT_TRUE(client.ready());
}

TEST_F(QmpClientTest, GivesUpAfterItsTimeout) {
  QmpClientOptions o;
  o.connect_timeout_ms = 80;
  QmpClient client(loop_, path("never.sock"), o);
  Error e = start(client);
  EXPECT_EQ(e.code(), Errc::timeout);
  EXPECT_NE(e.message().find("never.sock"), std::string::npos) << e.message();
  EXPECT_FALSE(client.ready());
  // Commands after the end fail at once (posted, not from inside execute()).
  Result<std::string> r = run(client, "query-status");
  EXPECT_EQ(r.error().code(), Errc::connection_lost);
}

TEST_F(QmpClientTest, ALostConnectionFailsWhatWaitsAndIsReportedOnce) {
  ScriptedQmp qmp(loop_, path("q.sock"));
  ASSERT_TRUE(qmp.server.ok());
  qmp.answer = [&](size_t i, const std::string&) { qmp.server.close_connection(i); };
  QmpClient client(loop_, path("q.sock"));
  int closed = 0;
  Error closed_with;
  client.set_on_closed([&](const Error& e) {
    ++closed;
    closed_with = e;
  });
  ASSERT_TRUE(start(client).ok());
  Result<std::string> r = run(client, "quit");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::connection_lost);
  EXPECT_EQ(r.error().message().rfind("QMP quit: ", 0), 0u) << r.error().message();
  ASSERT_TRUE(await(loop_, [&] { return closed > 0; }));
  EXPECT_EQ(closed, 1);
  EXPECT_EQ(closed_with.code(), Errc::connection_lost);
}

TEST_F(QmpClientTest, SomethingElseThanAGreetingIsAProtocolError) {
  ScriptedQmp qmp(loop_, path("q.sock"));
  ASSERT_TRUE(qmp.server.ok());
  qmp.greet = false;
  qmp.server.on_accept = [&](size_t i) { qmp.server.send(i, "RFB 003.008\n"); };
  QmpClient client(loop_, path("q.sock"));
  Error e = start(client);
  EXPECT_EQ(e.code(), Errc::protocol);
}

TEST_F(QmpClientTest, AnEndlessLineIsRefused) {
  ScriptedQmp qmp(loop_, path("q.sock"));
  ASSERT_TRUE(qmp.server.ok());
  qmp.greet = false;
  qmp.server.on_accept = [&](size_t i) { qmp.server.send(i, std::string(4096, '{')); };
  QmpClientOptions o;
  o.max_line = 1024;
  QmpClient client(loop_, path("q.sock"), o);
  Error e = start(client);
  EXPECT_EQ(e.code(), Errc::too_large);
}

TEST_F(QmpClientTest, CloseFailsWaitingCommandsWithoutOnClosed) {
  ScriptedQmp qmp(loop_, path("q.sock"));
  ASSERT_TRUE(qmp.server.ok());
  QmpClient client(loop_, path("q.sock"));
  bool on_closed_called = false;
  client.set_on_closed([&](const Error&) { on_closed_called = true; });
  ASSERT_TRUE(start(client).ok());
  std::optional<Result<std::string>> reply;
  client.execute("never-answered", "", [&](Result<std::string> r) { reply = std::move(r); });
  client.close();
  EXPECT_FALSE(reply.has_value());  // never from inside close()
  bool drained = false;             // posted after everything close() posted
  loop_.post([&] { drained = true; });
  ASSERT_TRUE(await(loop_, [&] { return drained; }));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->error().code(), Errc::interrupted);
  EXPECT_FALSE(on_closed_called);
}

}  // namespace
}  // namespace pvb::mock::test
