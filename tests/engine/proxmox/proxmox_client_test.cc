// ProxmoxClient in-process against the mock pveproxy's API brain (tests/mock_pveproxy) behind
// the Dialer seam: the three server generations of vncproxy's generate-password, what a server
// that is no Proxmox VE gets called, and the authentication hints.
#include "engine/proxmox/proxmox_client.h"

#include <gtest/gtest.h>

#include "engine/core/clock.h"
#include "engine/core/random.h"
#include "tests/engine/proxmox/mock_api_dialer.h"
#include "tests/mock_pveproxy/totp.h"

namespace pvb {
namespace {

using mock::VncproxyGeneration;
using testing::MockApiDialer;

constexpr int64_t kNow = 1700000000;
constexpr const char* kRootToken = "root@pam!pvebridge=5f0c6e2a-8d3b-4c71-9e2f-1a4b7c9d0e36";
constexpr const char* kTotpSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

Credentials password_login(std::string user, std::string password) {
  Credentials c;
  c.user = std::move(user);
  c.password = std::move(password);
  return c;
}

Credentials token_login(const std::string& text = kRootToken) {
  Credentials c;
  c.token = *parse_api_token(text);
  return c;
}

class ProxmoxClientTest : public ::testing::Test {
 protected:
  void make(mock::MockOptions options, Credentials credentials,
            ProxmoxClientOptions client_options = {}) {
    client_.reset();
    dialer_.reset();
    api_ = std::make_unique<mock::MockApi>(mock::Inventory::builtin_default(), std::move(options),
                                           clock_, random_);
    dialer_ = std::make_unique<MockApiDialer>(loop_, *api_);
    client_ = std::make_unique<ProxmoxClient>(loop_, std::vector<ApiHost>{{"pve1", 8006}}, *dialer_,
                                              std::move(credentials), std::move(client_options));
  }

  Error connect() {
    std::optional<Error> result;
    client_->connect([&](Error e) { result = std::move(e); });
    EXPECT_TRUE(loop_.run_until([&] { return result.has_value(); }));
    return result.value_or(Error(Errc::internal, "no answer"));
  }

  Result<VncTicket> vncproxy(const Guest& g) {
    std::optional<Result<VncTicket>> result;
    client_->vncproxy(g, [&](Result<VncTicket> t) { result.emplace(std::move(t)); });
    EXPECT_TRUE(loop_.run_until([&] { return result.has_value(); }));
    if (!result) return Error(Errc::internal, "no answer");
    return std::move(*result);
  }

  static Guest guest(uint32_t vmid, GuestType type = GuestType::qemu) {
    Guest g;
    g.node = "pve1";
    g.vmid = vmid;
    g.type = type;
    g.status = "running";
    return g;
  }

  // Whether each vncproxy request carried generate-password, in order.
  std::vector<bool> generate_password_sent() const {
    std::vector<bool> out;
    for (const RestRequest* r : dialer_->sent_to("/vncproxy")) {
      bool sent = false;
      for (const auto& [name, value] : r->form.value_or(FormFields{})) {
        sent |= name == "generate-password";
      }
      out.push_back(sent);
    }
    return out;
  }

  Loop loop_;
  ManualClock clock_{kNow};
  SeededRandom random_{7};
  std::unique_ptr<mock::MockApi> api_;
  std::unique_ptr<MockApiDialer> dialer_;
  std::unique_ptr<ProxmoxClient> client_;
};

// --- vncproxy's generate-password across the server generations (PROTOCOL.md section 3) -------

struct GenerationCase {
  const char* name;
  VncproxyGeneration generation;
  const char* reported_version;  // "" = the generation's own
  std::vector<bool> sent;        // generate-password on each vncproxy call
  bool password;                 // a generated password came back (else the ticket is it)
};

void PrintTo(const GenerationCase& c, std::ostream* os) {
  *os << c.name;
}

class GenerationTest : public ProxmoxClientTest,
                       public ::testing::WithParamInterface<GenerationCase> {};

TEST_P(GenerationTest, AsksOnlyServersThatNeedItAndRecoversFromAWrongGuess) {
  const GenerationCase& c = GetParam();
  mock::MockOptions o;
  o.generation = c.generation;
  o.version = c.reported_version;
  for (bool token : {true, false}) {
    SCOPED_TRACE(token ? "API token" : "ticket login");
    make(o, token ? token_login() : password_login("root@pam", "mock-root-password"));
    ASSERT_TRUE(connect().ok());
    auto t = vncproxy(guest(100));
    ASSERT_TRUE(t.ok()) << t.error().message();
    EXPECT_EQ(generate_password_sent(), c.sent);
    EXPECT_EQ(t->password.has_value(), c.password);
    if (c.password) {
      EXPECT_EQ(t->vnc_password().size(), 8u);
      // Current Proxmox prefixes the ticket with the password; never split it at ':'.
      EXPECT_EQ(t->ticket.substr(0, 9), *t->password + ":");
    } else {
      EXPECT_EQ(t->ticket.rfind("PVEVNC:", 0), 0u);
    }
    // The version is asked once, not per console.
    ASSERT_TRUE(vncproxy(guest(100)).ok());
    EXPECT_EQ(dialer_->sent_to("/version").size(), 1u);
  }
}

// connect and serve: with a token the guest list proves the host and the token (one round trip
// before the viewer starts, not two); the version is asked once, before the first vncproxy.
TEST_F(ProxmoxClientTest, TheGuestListCanProveTheTokenAndTheVersionComesBeforeVncproxy) {
  make(mock::MockOptions{}, token_login());
  client_->set_probe_with_guest_list(true);
  ASSERT_TRUE(connect().ok());
  EXPECT_EQ(dialer_->sent_to("/cluster/resources").size(), 1u);
  EXPECT_EQ(dialer_->sent_to("/version").size(), 0u);
  std::optional<Result<std::vector<Guest>>> listed;
  client_->list_guests([&](Result<std::vector<Guest>> g) { listed.emplace(std::move(g)); });
  ASSERT_TRUE(loop_.run_until([&] { return listed.has_value(); }));
  ASSERT_TRUE(listed->ok());
  EXPECT_FALSE(listed->value().empty());
  EXPECT_EQ(dialer_->sent_to("/cluster/resources").size(), 1u) << "the probe's list is used";
  ASSERT_TRUE(vncproxy(guest(100)).ok());
  EXPECT_EQ(dialer_->sent_to("/version").size(), 1u);

  // A wrong secret is still told as such, naming the request that proved it.
  make(mock::MockOptions{}, token_login("root@pam!pvebridge=00000000-0000-0000-0000-000000000000"));
  client_->set_probe_with_guest_list(true);
  Error e = connect();
  EXPECT_EQ(e.code(), Errc::auth);
  EXPECT_NE(e.message().find("rejected (wrong secret"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("GET /cluster/resources answered 401"), std::string::npos)
      << e.message();
}

INSTANTIATE_TEST_SUITE_P(
    Generations, GenerationTest,
    ::testing::Values(
        GenerationCase{"old", VncproxyGeneration::old, "", {false}, false},
        GenerationCase{"middle", VncproxyGeneration::middle, "", {true}, true},
        GenerationCase{"middle_pve6", VncproxyGeneration::middle, "6.2-4", {true}, true},
        GenerationCase{"new", VncproxyGeneration::next, "", {false}, true},
        // Versions that deprecated it: a password comes unasked.
        GenerationCase{"deprecated_8", VncproxyGeneration::next, "8.4.7", {false}, true},
        GenerationCase{"deprecated_9", VncproxyGeneration::next, "9.1.7", {false}, true},
        // The version guessed wrong: a 400 naming the parameter is retried once without it...
        GenerationCase{"new_says_9_0", VncproxyGeneration::next, "9.0.5", {true, false}, true},
        GenerationCase{"old_says_8_4", VncproxyGeneration::old, "8.4.1", {true, false}, false},
        GenerationCase{"unknown_version", VncproxyGeneration::next, "beta", {true, false}, true},
        // ... and a server that knows it but was not sent it (its qemu-server older than its
        // pve-manager) and so generated no password is asked again, with it.
        GenerationCase{
            "middle_says_9_2", VncproxyGeneration::middle, "9.2.0", {false, true}, true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(ProxmoxClientTest, ContainersNeverGetGeneratePassword) {
  make({}, token_login());
  ASSERT_TRUE(connect().ok());
  auto t = vncproxy(guest(200, GuestType::lxc));
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(generate_password_sent(), std::vector<bool>{false});
}

TEST_F(ProxmoxClientTest, AnotherRefusalIsNotRetried) {
  make({}, token_login());
  ASSERT_TRUE(connect().ok());
  dialer_->override_reply = [](const RestRequest& r) -> std::optional<Result<RestResponse>> {
    if (!r.path.ends_with("/vncproxy")) return std::nullopt;
    RestResponse bad;
    bad.status = 400;
    bad.reason = "Parameter verification failed.";
    bad.body = R"({"data":null,"errors":{"websocket":"type check ('boolean') failed"}})";
    return bad;
  };
  auto t = vncproxy(guest(100));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code(), Errc::console_refused);
  EXPECT_EQ(generate_password_sent().size(), 1u);
}

// --- SPICE (spice_api.cc) against the mock's spiceproxy and config -----------------------------

TEST_F(ProxmoxClientTest, SpiceproxySendsTheProxyAndDecodesTheVvKeys) {
  make({}, token_login());
  ASSERT_TRUE(connect().ok());
  std::optional<Result<SpiceTicket>> result;
  client_->spiceproxy(guest(100), "192.0.2.10",
                      [&](Result<SpiceTicket> t) { result.emplace(std::move(t)); });
  ASSERT_TRUE(loop_.run_until([&] { return result.has_value(); }));
  ASSERT_TRUE(result->ok()) << result->error().message();
  const SpiceTicket& t = **result;
  EXPECT_EQ(t.proxy, "http://192.0.2.10:3128");
  EXPECT_EQ(t.tls_port, 61100);
  EXPECT_EQ(t.host.rfind("pvespiceproxy:", 0), 0u);
  EXPECT_EQ(t.password.size(), 40u);
  // The mock's spiceproxy accepts exactly what remote-viewer will send.
  EXPECT_TRUE(api_->verify_spice_connect(t.connect_target()).has_value());
  std::string other = t.connect_target();
  other.back() = other.back() == '0' ? '1' : '0';  // another port than the one signed
  EXPECT_FALSE(api_->verify_spice_connect(other).has_value());
  clock_.advance(40);  // the ticket's 40 s
  EXPECT_FALSE(api_->verify_spice_connect(t.connect_target()).has_value());
  auto sent = dialer_->sent_to("/spiceproxy");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]->method, "POST");
  EXPECT_EQ(sent[0]->form.value_or(FormFields{}), (FormFields{{"proxy", "192.0.2.10"}}));
}

TEST_F(ProxmoxClientTest, SpiceproxyRefusedIsConsoleRefused) {
  make({}, token_login());
  ASSERT_TRUE(connect().ok());
  std::optional<Result<SpiceTicket>> result;
  // 110's display is the default (std): QEMU has no SPICE server for it.
  Guest g = guest(110);
  g.node = "pve3";
  client_->spiceproxy(g, "", [&](Result<SpiceTicket> t) { result.emplace(std::move(t)); });
  ASSERT_TRUE(loop_.run_until([&] { return result.has_value(); }));
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->error().code(), Errc::console_refused);
}

TEST_F(ProxmoxClientTest, QemuVga) {
  make({}, token_login());
  ASSERT_TRUE(connect().ok());
  for (auto [vmid, want] : {std::pair<uint32_t, std::string>{100, "qxl"}, {110, ""}}) {
    std::optional<Result<std::string>> vga;
    Guest g = guest(vmid);
    if (vmid == 110) g.node = "pve3";
    client_->qemu_vga(g, [&](Result<std::string> v) { vga.emplace(std::move(v)); });
    ASSERT_TRUE(loop_.run_until([&] { return vga.has_value(); }));
    ASSERT_TRUE(vga->ok());
    EXPECT_EQ(**vga, want) << vmid;
  }
}

// --- what answers when it is no Proxmox VE ------------------------------------------------------

std::optional<Result<RestResponse>> web_server(const RestRequest&) {
  RestResponse r;
  r.status = 404;
  r.reason = "File not found";
  r.body = "<html>nothing here</html>";
  return r;
}

TEST_F(ProxmoxClientTest, A404OnTheFirstCallIsNoProxmox) {
  for (bool token : {true, false}) {
    make({}, token ? token_login() : password_login("root@pam", "x"));
    dialer_->override_reply = web_server;
    Error e = connect();
    EXPECT_EQ(e.code(), Errc::http);
    EXPECT_EQ(e.message(),
              token ? "pve1:8006 is not a Proxmox VE API (GET /version: 404 File not found)"
                    : "pve1:8006 is not a Proxmox VE API (POST /access/ticket: 404 "
                      "File not found)");
  }
}

TEST_F(ProxmoxClientTest, APlainHttpPortIsNamed) {
  make({}, token_login());
  dialer_->override_reply = [](const RestRequest&) -> std::optional<Result<RestResponse>> {
    return Result<RestResponse>(
        Error(Errc::not_tls, "TLS handshake failed: the server answered in plain HTTP, not TLS"));
  };
  Error e = connect();
  EXPECT_EQ(e.code(), Errc::not_tls);
  EXPECT_EQ(e.message().rfind("pve1:8006 speaks plain HTTP, not TLS: is it Proxmox's 8006?", 0), 0u)
      << e.message();
}

// --- authentication hints -----------------------------------------------------------------------

TEST_F(ProxmoxClientTest, AWrongTokenSecretSaysSo) {
  make({}, token_login("root@pam!pvebridge=00000000-0000-0000-0000-000000000000"));
  Error e = connect();
  EXPECT_EQ(e.code(), Errc::auth);
  EXPECT_EQ(e.message().rfind("API token root@pam!pvebridge rejected (wrong secret, or the token "
                              "was removed)",
                              0),
            0u)
      << e.message();
  EXPECT_EQ(e.message().find("00000000"), std::string::npos);  // never the secret
}

TEST_F(ProxmoxClientTest, ADefaultedRealmIsMentioned) {
  Credentials c = password_login("alice@pam", "alice-password");
  c.realm_defaulted = true;
  make({}, c);
  Error e = connect();
  EXPECT_EQ(e.code(), Errc::auth);
  EXPECT_NE(e.message().find("the realm defaulted to @pam"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("alice@pve"), std::string::npos) << e.message();

  make({}, password_login("alice@pam", "alice-password"));  // @pam given: no hint
  e = connect();
  EXPECT_EQ(e.code(), Errc::auth);
  EXPECT_EQ(e.message().find("defaulted"), std::string::npos) << e.message();
}

TEST_F(ProxmoxClientTest, AWrongTotpCodeIsAskedAgain) {
  const std::string right = mock::totp_code(*mock::base32_decode(kTotpSecret), kNow);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  std::vector<std::string> answers = {wrong, wrong, right};
  int asked = 0;
  ProxmoxClientOptions o;
  std::vector<int> attempts;
  o.otp_prompt = [&](int attempt) -> Result<std::string> {
    attempts.push_back(attempt);
    return answers.at(asked++);
  };
  make({}, password_login("totp@pve", "totp-password"), o);
  Error e = connect();
  EXPECT_TRUE(e.ok()) << e.message();
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3}));

  // Three wrong codes: the end.
  answers = {wrong, wrong, wrong, right};
  asked = 0;
  make({}, password_login("totp@pve", "totp-password"), o);
  e = connect();
  EXPECT_EQ(e.code(), Errc::auth);
  EXPECT_EQ(asked, ProxmoxClient::kTotpAttempts);
  EXPECT_NE(e.message().find("the code was rejected (3 codes tried)"), std::string::npos)
      << e.message();
}

TEST_F(ProxmoxClientTest, AWrongTotpCodeWithoutATerminalIsNotAskedAgain) {
  const std::string right = mock::totp_code(*mock::base32_decode(kTotpSecret), kNow);
  Credentials c = password_login("totp@pve", "totp-password");
  c.otp = right == "000000" ? "111111" : "000000";
  make({}, c);
  Error e = connect();
  EXPECT_EQ(e.code(), Errc::auth);
  EXPECT_NE(e.message().find("the code was rejected"), std::string::npos) << e.message();
  EXPECT_EQ(dialer_->sent_to("/access/ticket").size(), 2u);
}

}  // namespace
}  // namespace pvb
