// The mock server's small parts on their own: arguments, frame rules, the ready line, the
// identity and state directory, the benchmark consoles and the Close-swallowing filter.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/core/json.h"
#include "tests/mock_pveproxy/server/api_restart.h"
#include "tests/mock_pveproxy/server/close_frame_filter.h"
#include "tests/mock_pveproxy/server/frame_rules.h"
#include "tests/mock_pveproxy/server/ready_line.h"
#include "tests/mock_pveproxy/server/server_args.h"
#include "tests/mock_pveproxy/server/test/harness.h"
#include "transports/testing/bench_console.h"
#include "transports/testing/mem_pipe.h"
#include "transports/testing/server_identity.h"

namespace pvb::mock::test {
namespace {

namespace fs = std::filesystem;

Result<ParsedArgs> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "mock-pveproxy");
  return parse_server_args(static_cast<int>(args.size()), args.data());
}

TEST(ServerArgs, DefaultsAndEveryFlag) {
  Result<ParsedArgs> d = parse({});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->config.listen_host, "127.0.0.1");
  EXPECT_EQ(d->config.listen_port, 0);
  EXPECT_EQ(d->config.api.auth_fail_delay_ms, 3000u);

  Result<ParsedArgs> a = parse({"--listen",
                                "[::1]:8006",
                                "--inventory",
                                "inv.json",
                                "--state-dir=/tmp/x",
                                "--fault",
                                "stall_ws",
                                "--fault=slow=5",
                                "--old-pveproxy",
                                "--auth-fail-delay-ms",
                                "50",
                                "--start-delay-ms=0",
                                "--ws-window-ms",
                                "100",
                                "--vnc-password-life-s",
                                "2",
                                "--vncticket-min-age-s",
                                "-5",
                                "--vncticket-max-age-s",
                                "5",
                                "--ticket-min-age-s",
                                "-1",
                                "--ticket-life-s",
                                "60",
                                "--tfa-challenge-life-s",
                                "10",
                                "--cert",
                                "c.pem",
                                "--key",
                                "k.pem",
                                "--exit-on-stdin-eof",
                                "--leaf-only",
                                "--cluster-ca=ca.pem",
                                "--tls-backend=mbedtls"});
  ASSERT_TRUE(a.ok()) << a.error().message();
  const ServerConfig& c = a->config;
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 8006);
  EXPECT_EQ(c.inventory_file, "inv.json");
  EXPECT_EQ(c.state_dir, "/tmp/x");
  EXPECT_TRUE(c.api.stall_ws());
  EXPECT_EQ(c.api.slow_ms(), 5u);
  EXPECT_TRUE(c.api.old_pveproxy);
  EXPECT_EQ(c.api.auth_fail_delay_ms, 50u);
  EXPECT_EQ(c.api.start_delay_ms, 0u);
  EXPECT_EQ(c.api.ws_window_ms, 100u);
  EXPECT_EQ(c.api.vnc_password_life_s, 2);
  EXPECT_EQ(c.api.vncticket_min_age_s, -5);
  EXPECT_EQ(c.api.vncticket_max_age_s, 5);
  EXPECT_EQ(c.api.ticket_min_age_s, -1);
  EXPECT_EQ(c.api.ticket_life_s, 60);
  EXPECT_EQ(c.api.tfa_challenge_life_s, 10);
  EXPECT_EQ(c.cert_file, "c.pem");
  EXPECT_EQ(c.key_file, "k.pem");
  EXPECT_TRUE(c.exit_on_stdin_eof);
  EXPECT_TRUE(c.leaf_only);
  EXPECT_EQ(c.cluster_ca_file, "ca.pem");
  EXPECT_FALSE(d->config.leaf_only);
  EXPECT_TRUE(d->config.cluster_ca_file.empty());
  EXPECT_EQ(c.tls_backend, TlsBackendKind::mbedtls);
  EXPECT_EQ(parse({})->config.tls_backend, TlsBackendKind::openssl);
  EXPECT_TRUE(parse({"--help"})->help);
}

TEST(ServerArgs, ConsolePorts) {
  Result<ParsedArgs> d = parse({});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->config.api.console_port_first, 5900);  // a node's range
  EXPECT_EQ(d->config.api.console_port_last, 5999);
  Result<ParsedArgs> w = parse({"--console-ports", "5900-7899"});
  ASSERT_TRUE(w.ok()) << w.error().message();
  EXPECT_EQ(w->config.api.console_port_first, 5900);
  EXPECT_EQ(w->config.api.console_port_last, 7899);
}

TEST(ServerArgs, FakeVmScreens) {
  Result<ParsedArgs> d = parse({});
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->config.fake_vm_freeze_at);
  EXPECT_TRUE(d->config.fake_vm_dump_dir.empty());
  Result<ParsedArgs> a = parse({"--fake-vm-freeze-at", "12", "--fake-vm-dump-dir=/tmp/screens"});
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->config.fake_vm_freeze_at, 12u);
  EXPECT_EQ(a->config.fake_vm_dump_dir, "/tmp/screens");
  for (const char* bad : {"-1", "x", "1000000", ""}) {
    Result<ParsedArgs> r = parse({"--fake-vm-freeze-at", bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Errc::usage);
  }
}

TEST(ServerArgs, Mistakes) {
  for (std::vector<const char*> bad :
       std::vector<std::vector<const char*>>{{"--bogus"},
                                             {"--listen"},
                                             {"--listen", "127.0.0.1"},
                                             {"--listen", "127.0.0.1:99999"},
                                             {"--auth-fail-delay-ms", "-1"},
                                             {"--ws-window-ms", "soon"},
                                             {"--fault", "no_such_fault"},
                                             {"--tls-backend", "gnutls"},
                                             {"--fault", "drop_ws_after"},
                                             {"--cert", "c.pem"},
                                             {"--old-pveproxy=1"},
                                             {"--leaf-only=yes"},
                                             {"--cluster-ca"},
                                             {"--cluster-ca="},
                                             {"--inventory="},
                                             {"--console-ports", "6000"},
                                             {"--console-ports", "7000-6000"},
                                             {"--console-ports", "80-90"},
                                             {"--console-ports", "6000-70000"}}) {
    Result<ParsedArgs> r = parse(bad);
    ASSERT_FALSE(r.ok()) << bad[0];
    EXPECT_EQ(r.error().code(), Errc::usage);
  }
}

WsFrameInfo frame(bool fin, uint8_t rsv, uint8_t opcode, bool masked, uint64_t length) {
  return WsFrameInfo{fin, rsv, opcode, masked, length};
}

TEST(ServerArgs, AlsoListenIsRepeatable) {
  Result<ParsedArgs> none = parse({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->config.also_listen.empty());
  Result<ParsedArgs> a = parse(
      {"--listen", "127.0.0.1:8006", "--also-listen", "127.0.0.1:0", "--also-listen=[::1]:9"});
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->config.listen_port, 8006);
  ASSERT_EQ(a->config.also_listen.size(), 2u);
  EXPECT_EQ(a->config.also_listen[0].host, "127.0.0.1");
  EXPECT_EQ(a->config.also_listen[0].port, 0);
  EXPECT_EQ(a->config.also_listen[1].host, "::1");
  EXPECT_EQ(a->config.also_listen[1].port, 9);
  for (std::vector<const char*> bad : std::vector<std::vector<const char*>>{
           {"--also-listen"}, {"--also-listen", "8006"}, {"--also-listen", "h:x"}}) {
    Result<ParsedArgs> r = parse(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::usage);
    EXPECT_NE(r.error().message().find("--also-listen"), std::string::npos) << r.error().message();
  }
  Result<ParsedArgs> f = parse({"--fault", "restart_api=after:5,down:6", "--fault", "expire_auth"});
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ(f->config.api.restart_api()->down_ms, 6u);
  EXPECT_TRUE(f->config.api.expire_auth());
}

// restart_api's schedule: a console arms one restart (more consoles meanwhile do not add any);
// the API goes down, comes back, and only a console after that arms the next, up to `times`.
TEST(ApiRestartUnit, OneRestartPerConsoleOpenedSinceTheLastCameBackUpToTimes) {
  Loop loop;
  std::vector<std::string> events;
  ApiRestart::Hooks hooks;
  hooks.go_down = [&] { events.push_back("down"); };
  hooks.come_up = [&] {
    events.push_back("up");
    return Error();
  };
  hooks.log = [](const std::string&) {};
  ApiRestart restart(loop, RestartSpec{1, 1, 2}, std::move(hooks));
  restart.console_opened();
  restart.console_opened();  // already armed
  ASSERT_TRUE(loop.run_until([&] { return events.size() == 2; }));
  EXPECT_EQ(events, (std::vector<std::string>{"down", "up"}));
  EXPECT_FALSE(loop.run_until([&] { return events.size() > 2; })) << "nothing armed it again";
  restart.console_opened();
  ASSERT_TRUE(loop.run_until([&] { return events.size() == 4; }));
  EXPECT_EQ(restart.restarts(), 2u);
  restart.console_opened();  // times=2: done
  EXPECT_FALSE(loop.run_until([&] { return events.size() > 4; }));
  EXPECT_EQ(restart.restarts(), 2u);
}

// A port taken while the API was down: it stays down (and says so), and no further restart.
TEST(ApiRestartUnit, APortTakenMeanwhileLeavesTheApiDown) {
  Loop loop;
  int downs = 0;
  int ups = 0;
  std::vector<std::string> logs;
  ApiRestart::Hooks hooks;
  hooks.go_down = [&] { ++downs; };
  hooks.come_up = [&] {
    ++ups;
    return Error(Errc::io, "address in use");
  };
  hooks.log = [&](const std::string& line) { logs.push_back(line); };
  ApiRestart restart(loop, RestartSpec{1, 1, 3}, std::move(hooks));
  restart.console_opened();
  ASSERT_TRUE(loop.run_until([&] { return ups == 1; }));
  restart.console_opened();
  EXPECT_FALSE(loop.run_until([&] { return downs > 1; }));
  ASSERT_FALSE(logs.empty());
  EXPECT_NE(logs.back().find("cannot listen again: address in use"), std::string::npos)
      << logs.back();
}

TEST(ServerArgs, ReconnectFaults) {
  Result<ParsedArgs> a = parse({"--fault", "cut_ws=random:5000,rst,times=0", "--fault",
                                "stall_ws_after=100", "--fault", "refuse_vncproxy=2"});
  ASSERT_TRUE(a.ok()) << a.error().message();
  std::optional<CutSpec> cut = a->config.api.cut_ws();
  ASSERT_TRUE(cut.has_value());
  EXPECT_EQ(cut->where, CutSpec::Where::random);
  EXPECT_EQ(cut->at, 5000u);
  EXPECT_TRUE(cut->rst);
  EXPECT_EQ(cut->times, 0u);
  EXPECT_EQ(a->config.api.stall_ws_after(), 100u);
  EXPECT_EQ(a->config.api.refuse_vncproxy(), 2u);

  Result<ParsedArgs> b = parse({"--fault", "cut_ws=up:7"});
  ASSERT_TRUE(b.ok()) << b.error().message();
  EXPECT_EQ(b->config.api.cut_ws()->where, CutSpec::Where::up);
  EXPECT_FALSE(b->config.api.cut_ws()->rst);
  EXPECT_EQ(b->config.api.cut_ws()->times, 1u);

  for (const char* bad : {"cut_ws", "cut_ws=sideways:5", "cut_ws=down:0", "cut_ws=down:5,loud",
                          "cut_ws=time:x", "stall_ws_after", "refuse_vncproxy=many"}) {
    Result<ParsedArgs> r = parse({"--fault", bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Errc::usage);
  }
}

TEST(FrameRulesUnit, CurrentPveproxy) {
  MockOptions o;
  EXPECT_TRUE(check_client_frame(frame(true, 0, 2, true, 128 * 1024), o).ok());
  EXPECT_TRUE(check_client_frame(frame(true, 0, 1, true, 5), o).ok());
  EXPECT_TRUE(check_client_frame(frame(true, 0, 9, true, 5), o).ok());
  EXPECT_EQ(check_client_frame(frame(true, 0, 2, true, 128 * 1024 + 1), o).code(), Errc::too_large);
  EXPECT_EQ(check_client_frame(frame(true, 0, 2, false, 1), o).code(), Errc::protocol);
  EXPECT_EQ(check_client_frame(frame(false, 0, 2, true, 1), o).code(), Errc::protocol);
  EXPECT_EQ(check_client_frame(frame(true, 0, 0, true, 1), o).code(), Errc::protocol);
  EXPECT_EQ(check_client_frame(frame(true, 4, 2, true, 1), o).code(), Errc::protocol);
}

TEST(FrameRulesUnit, OldPveproxyCountsTheWholeFrame) {
  MockOptions o;
  o.old_pveproxy = true;
  EXPECT_EQ(ws_header_bytes(frame(true, 0, 2, true, 125)), 6u);
  EXPECT_EQ(ws_header_bytes(frame(true, 0, 2, true, 126)), 8u);
  EXPECT_EQ(ws_header_bytes(frame(true, 0, 2, true, 70000)), 14u);
  EXPECT_TRUE(check_client_frame(frame(true, 0, 2, true, 65536 - 8), o).ok());
  EXPECT_EQ(check_client_frame(frame(true, 0, 2, true, 65536 - 7), o).code(), Errc::too_large);
  EXPECT_EQ(check_client_frame(frame(true, 0, 2, true, 100000), o).code(), Errc::too_large);
}

TEST(ReadyLine, CarriesTheInventorysCredentials) {
  ReadyInfo info;
  info.port = 40123;
  info.fingerprint.fill(0xAB);
  info.ca_file = "/tmp/ca.pem";
  std::string line = ready_line(info, Inventory::builtin_default());
  Result<JsonDocument> doc = JsonDocument::parse(line, "ready line");
  ASSERT_TRUE(doc.ok()) << line;
  JsonElement r = doc->root();
  EXPECT_EQ(*json_int(r, "port", ""), 40123);
  EXPECT_TRUE(json_string(r, "fingerprint", "")->starts_with("AB:AB:"));
  EXPECT_EQ(*json_string(r, "ca_file", ""), "/tmp/ca.pem");
  EXPECT_EQ(*json_string(r, "user", ""), "root@pam");
  EXPECT_EQ(*json_string(r, "password", ""), "mock-root-password");
  EXPECT_EQ(*json_string(r, "api_token", ""), std::string(kRootToken));
  EXPECT_EQ(*json_string(r, "totp_user", ""), "totp@pve");
  EXPECT_EQ(*json_string(r, "totp_password", ""), "totp-password");
  EXPECT_EQ(*json_string(r, "totp_secret", ""), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find("\"ports\""), std::string::npos) << "one listener: no ports";
  info.ports = {40123, 40124};
  Result<JsonDocument> two =
      JsonDocument::parse(ready_line(info, Inventory::builtin_default()), "ready line");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(simdjson::minify(two->root()["ports"]), "[40123,40124]");

  Inventory bare;
  UserEntry bob;
  bob.userid = "bob@pve";
  bob.password = "pw";
  bare.users.push_back(bob);
  Result<JsonDocument> bare_doc = JsonDocument::parse(ready_line(info, bare), "ready line");
  ASSERT_TRUE(bare_doc.ok());
  EXPECT_EQ(*json_string(bare_doc->root(), "user", ""), "bob@pve");
  EXPECT_FALSE(json_optional_string(bare_doc->root(), "api_token", "")->has_value());
  EXPECT_FALSE(json_optional_string(bare_doc->root(), "totp_secret", "")->has_value());
}

TEST(ServerIdentity, GeneratedLeafAndCa) {
  Result<ServerIdentity> id = generate_server_identity();
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(*first_cert_fingerprint(id->chain_pem), id->fingerprint);
  EXPECT_NE(*first_cert_fingerprint(id->ca_pem), id->fingerprint);
  EXPECT_TRUE(id->chain_pem.ends_with(id->ca_pem));
  EXPECT_EQ(id->cluster_ca_pem, id->ca_pem);
  EXPECT_FALSE(first_cert_fingerprint("not a certificate").ok());
  // --leaf-only: the first certificate alone.
  Result<std::string> leaf = leaf_only_pem(id->chain_pem);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(*first_cert_fingerprint(*leaf), id->fingerprint);
  EXPECT_EQ(leaf->find(id->ca_pem), std::string::npos);
  EXPECT_FALSE(leaf_only_pem("junk").ok());
}

TEST(ServerIdentity, VncproxysCertIsTheChainAfterTheLeaf) {
  Result<StateDir> dir = StateDir::open("");
  ASSERT_TRUE(dir.ok());
  Result<ServerIdentity> id = generate_server_identity();
  ASSERT_TRUE(id.ok());
  std::string chain = *dir->write_file("chain.pem", id->chain_pem);
  std::string leaf = *dir->write_file("leaf.pem", *leaf_only_pem(id->chain_pem));
  std::string key = *dir->write_file("key.pem", id->key_pem);
  Result<ServerIdentity> from_chain = load_server_identity(chain, key);
  ASSERT_TRUE(from_chain.ok());
  EXPECT_EQ(from_chain->cluster_ca_pem, id->ca_pem);
  Result<ServerIdentity> from_leaf = load_server_identity(leaf, key);
  ASSERT_TRUE(from_leaf.ok());
  EXPECT_EQ(from_leaf->cluster_ca_pem, *leaf_only_pem(id->chain_pem));
  // --cluster-ca FILE: any PEM certificates, checked.
  EXPECT_EQ(*load_cluster_ca(chain), id->chain_pem);
  EXPECT_FALSE(load_cluster_ca(key).ok());
  EXPECT_FALSE(load_cluster_ca(dir->path() + "/missing.pem").ok());
}

TEST(ServerIdentity, LoadedFromFiles) {
  Result<StateDir> dir = StateDir::open("");
  ASSERT_TRUE(dir.ok());
  Result<ServerIdentity> id = generate_server_identity();
  ASSERT_TRUE(id.ok());
  std::string cert = *dir->write_file("cert.pem", id->chain_pem);
  std::string key = *dir->write_file("key.pem", id->key_pem);
  Result<ServerIdentity> loaded = load_server_identity(cert, key);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message();
  EXPECT_EQ(loaded->fingerprint, id->fingerprint);
  EXPECT_EQ(loaded->ca_pem, id->chain_pem);
  EXPECT_FALSE(load_server_identity(dir->path() + "/missing.pem", key).ok());
}

TEST(StateDirTest, TemporaryIsPrivateAndRemovedGivenIsKept) {
  std::string temp_path;
  {
    Result<StateDir> dir = StateDir::open("");
    ASSERT_TRUE(dir.ok());
    temp_path = dir->path();
    EXPECT_EQ(fs::status(temp_path).permissions() & fs::perms::all, fs::perms::owner_all);
    Result<std::string> f = dir->write_file("ca.pem", "pem");
    ASSERT_TRUE(f.ok());
    std::ifstream in(*f);
    std::string text;
    in >> text;
    EXPECT_EQ(text, "pem");
  }
  EXPECT_FALSE(fs::exists(temp_path));
  std::string given = temp_path + "-given/sub";
  {
    Result<StateDir> dir = StateDir::open(given);
    ASSERT_TRUE(dir.ok());
    ASSERT_TRUE(dir->write_file("ca.pem", "x").ok());
  }
  EXPECT_TRUE(fs::exists(given + "/ca.pem"));
  fs::remove_all(temp_path + "-given");
}

TEST(CloseFrameFilterTest, PassesFramesUntilTheFirstCloseThenSwallows) {
  Loop loop;
  auto [client, server] = make_mem_pipe(loop, MemPipeOptions{.max_delivery = 3});  // torn headers
  Collector client_sink;
  client->set_sink(&client_sink);
  server->start();
  client->start();
  CloseFrameFilter filter(std::move(server), ByteChain(client_frame(kFin | 2, "lead")));
  Collector got;
  filter.set_sink(&got);
  filter.start();
  const std::string before =
      client_frame(kFin | 2, std::string(300, 'a')) + client_frame(kFin | 9, "p");
  ByteChain bytes(before + client_frame(kFin | 8, "\x03\xe8") + client_frame(kFin | 2, "after"));
  client->write(bytes);
  loop.run_until([] { return false; });
  EXPECT_EQ(got.data, client_frame(kFin | 2, "lead") + before);
  EXPECT_TRUE(filter.swallowing());
  EXPECT_FALSE(got.ended);
  // Writes pass down untouched.
  ByteChain reply("to the client");
  filter.write(reply);
  ASSERT_TRUE(loop.run_until([&] { return client_sink.data == "to the client"; }));
  // The client leaving still ends it.
  client->close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] { return got.ended; }));
}

}  // namespace
}  // namespace pvb::mock::test
