// Trust on first use end to end: the real pvebridge against the real mock-pveproxy, asked on a
// pseudo-terminal or not asked at all (no terminal, --json), with known_hosts in a private
// XDG_DATA_HOME per test.
#include <gtest/gtest.h>

#include <ctime>

#include "tests/integration/mock_fixture.h"
#include "tests/integration/pty_run.h"
#include "tests/mock_pveproxy/totp.h"
#include "transports/testing/cert_gen.h"

namespace pvb::testing {
namespace {

class TrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = PrivateDir::create("pvb-trust-e2e");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
  }
  std::string path(const std::string& name) const { return dir_->path() + "/" + name; }
  std::string known_hosts() const { return path("data/pvebridge/known_hosts"); }
  // Its lines without the comments (a new file starts with one explaining the format).
  std::string known_hosts_entries() const {
    std::string out;
    const std::string file = read_file(known_hosts());
    std::string_view text = file;
    while (!text.empty()) {
      std::string_view line = text.substr(0, text.find('\n'));
      text.remove_prefix(std::min(text.size(), line.size() + 1));
      if (!line.starts_with("#")) out += std::string(line) + "\n";
    }
    return out;
  }
  // Token auth, no trust option at all: known_hosts decides.
  std::map<std::string, std::string> env(const MockPveproxy& m,
                                         std::map<std::string, std::string> extra = {}) {
    extra["PVE_API_TOKEN"] = m.info().api_token;
    extra["XDG_DATA_HOME"] = path("data");
    extra["TERM"] = "dumb";
    return base_env(extra);
  }
  // A CA and a node certificate for 127.0.0.1 signed by it, as files the mock serves.
  struct Pki {
    GeneratedCert ca;
    std::string chain_file;  // leaf + CA
    std::string leaf_only_file;
    std::string key_file;
  };
  Pki make_pki(const std::string& tag, const GeneratedCert* ca = nullptr) {
    Pki p;
    if (ca) {
      p.ca = *ca;
    } else {
      auto c = generate_cert({.common_name = "test cluster CA " + tag, .is_ca = true});
      EXPECT_TRUE(c.ok());
      p.ca = std::move(*c);
    }
    auto leaf = generate_cert({.common_name = "node " + tag,
                               .dns_sans = {"localhost"},
                               .ip_sans = {"127.0.0.1"},
                               .issuer = &p.ca});
    EXPECT_TRUE(leaf.ok());
    p.chain_file = path(tag + "-chain.pem");
    p.leaf_only_file = path(tag + "-leaf.pem");
    p.key_file = path(tag + "-key.pem");
    EXPECT_TRUE(write_new_private_file(p.chain_file, leaf->cert_pem + p.ca.cert_pem).ok());
    EXPECT_TRUE(write_new_private_file(p.leaf_only_file, leaf->cert_pem).ok());
    EXPECT_TRUE(write_new_private_file(p.key_file, leaf->key_pem).ok());
    return p;
  }

  std::optional<PrivateDir> dir_;
};

TEST_F(TrustTest, WithoutATerminalFirstContactExitsFourWithTheFingerprint) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge({"list", "--host", m.info().host()}, env(m));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("--fingerprint " + m.info().fingerprint), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(known_hosts()), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  EXPECT_FALSE(file_exists(known_hosts()));

  auto json = run_pvebridge({"list", "--json", "--host", m.info().host()}, env(m));
  EXPECT_EQ(json.exit_code, 4);
  ASSERT_EQ(json.out.size(), 1u);
  EXPECT_EQ(json_get(json.out[0], "event"), "error");
  EXPECT_EQ(json_get(json.out[0], "code"), "tls_verify");
  EXPECT_NE(json_get(json.out[0], "message").value_or("").find(m.info().fingerprint),
            std::string::npos);
}

TEST_F(TrustTest, JsonOnATerminalIsNotAsked) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge_in_pty({"list", "--json", "--host", m.info().host()}, env(m), {});
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_EQ(r.output.find("Trust it?"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(m.info().fingerprint), std::string::npos) << r.output;
}

TEST_F(TrustTest, OnATerminalTheAnswerIsRememberedForListAndConsoles) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto first =
      run_pvebridge_in_pty({"list", "--host", m.info().host()}, env(m), {{"Trust it?", "yes"}});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("SHA-256     " + m.info().fingerprint), std::string::npos)
      << first.output;
  EXPECT_NE(first.output.find("web01"), std::string::npos) << first.output;
  EXPECT_NE(read_file(known_hosts()).find(m.info().host() + " sha256 " + m.info().fingerprint),
            std::string::npos)
      << read_file(known_hosts());
  EXPECT_EQ(file_mode(known_hosts()), 0600);
  EXPECT_EQ(file_mode(path("data/pvebridge")), 0700);

  // The next runs need no terminal: the API and the console's WebSocket both verify by the entry.
  auto list = run_pvebridge({"list", "--host", m.info().host()}, env(m));
  EXPECT_EQ(list.exit_code, 0) << list.err;
  auto console = run_pvebridge(
      {"connect", "web01", "--json", "--host", m.info().host(), "--viewer", test_viewer_path()},
      env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}));
  EXPECT_EQ(console.exit_code, 0) << console.err;
  EXPECT_EQ(json_get(read_file(path("viewer.json")), "name"), "web01");
}

TEST_F(TrustTest, AnsweringNoConnectsNowhere) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge_in_pty({"list", "--host", m.info().host()}, env(m), {{"Trust it?", "no"}});
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("was not trusted"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("web01"), std::string::npos);
  EXPECT_FALSE(file_exists(known_hosts()));
}

TEST_F(TrustTest, AChangedCertificateIsRefusedNamingBothFingerprints) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  const std::string old_fp = m.info().other_fingerprint();
  ASSERT_TRUE(
      replace_private_file(known_hosts(), "# mine\n" + m.info().host() + " sha256 " + old_fp + "\n")
          .ok());
  // Not even on a terminal is the user asked: a changed certificate is an answer, not a question.
  auto r = run_pvebridge_in_pty({"list", "--host", m.info().host()}, env(m), {});
  EXPECT_EQ(r.exit_code, 4) << r.output;
  EXPECT_NE(r.output.find("has CHANGED"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(old_fp), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(m.info().fingerprint), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sed -i '2d'"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Trust it?"), std::string::npos);
}

TEST_F(TrustTest, TheClusterCaKeepsRenewedAndOtherNodesTrusted) {
  Pki first = make_pki("first");
  int port = 0;
  int other_port = 0;
  {
    MockPveproxy other({"--cert", first.chain_file, "--key", first.key_file});
    ASSERT_TRUE(other.ok());
    other_port = other.info().port;
  }
  {
    MockPveproxy m({"--cert", first.chain_file, "--key", first.key_file});
    ASSERT_TRUE(m.ok());
    port = m.info().port;
    // Two hosts, as for failover: the CA is recorded for both.
    const std::string hosts = m.info().host() + ",127.0.0.1:" + std::to_string(other_port);
    auto r = run_pvebridge_in_pty({"list", "--host", hosts}, env(m), {{"Trust it?", "ca"}});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("signed by CA  CN=test cluster CA first"), std::string::npos)
        << r.output;
  }
  const std::string file = read_file(known_hosts());
  const std::string ca_fp = format_fingerprint(first.ca.fingerprint);
  EXPECT_NE(file.find("127.0.0.1:" + std::to_string(port) + " ca " + ca_fp), std::string::npos)
      << file;
  EXPECT_NE(file.find("127.0.0.1:" + std::to_string(other_port) + " ca " + ca_fp),
            std::string::npos)
      << file;

  // The node's certificate is renewed (same CA, new key), and the server now sends only its leaf,
  // as pveproxy does: still trusted, nobody asked.
  Pki renewed = make_pki("renewed", &first.ca);
  {
    MockPveproxy m2({"--listen", "127.0.0.1:" + std::to_string(port), "--cert",
                     renewed.leaf_only_file, "--key", renewed.key_file});
    ASSERT_TRUE(m2.ok());
    ASSERT_EQ(m2.info().port, port);
    auto again = run_pvebridge({"list", "--host", m2.info().host()}, env(m2));
    EXPECT_EQ(again.exit_code, 0) << again.err;
  }
  // The other node, never contacted so far, has its own certificate from the same CA.
  Pki node2 = make_pki("node2", &first.ca);
  {
    MockPveproxy n2({"--listen", "127.0.0.1:" + std::to_string(other_port), "--cert",
                     node2.leaf_only_file, "--key", node2.key_file});
    ASSERT_TRUE(n2.ok());
    auto other = run_pvebridge({"list", "--host", n2.info().host()}, env(n2));
    EXPECT_EQ(other.exit_code, 0) << other.err;
  }
  // A certificate from another CA at that address is refused.
  Pki stranger = make_pki("stranger");
  MockPveproxy n3({"--listen", "127.0.0.1:" + std::to_string(other_port), "--cert",
                   stranger.chain_file, "--key", stranger.key_file});
  ASSERT_TRUE(n3.ok());
  auto refused = run_pvebridge({"list", "--host", n3.info().host()}, env(n3));
  EXPECT_EQ(refused.exit_code, 4) << refused.err;
  EXPECT_NE(refused.err.find("does not verify with the CA"), std::string::npos) << refused.err;
}

// --- the cluster CA from vncproxy's `cert`, on a server that sends only its leaf
// -------------------

constexpr const char* kCaQuestion = "Trust the cluster CA? [yes/no]";

TEST_F(TrustTest, AfterPinningTheLeafTheClusterCaIsOfferedAndKeepsRenewalsTrusted) {
  Pki first = make_pki("first");
  int port = 0;
  {
    // As stock pveproxy: the leaf alone, and the CA only in vncproxy's reply.
    MockPveproxy m({"--cert", first.chain_file, "--key", first.key_file, "--leaf-only"});
    ASSERT_TRUE(m.ok());
    port = m.info().port;
    auto r = run_pvebridge_in_pty(
        {"connect", "web01", "--host", m.info().host(), "--viewer", test_viewer_path()},
        env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}),
        {{"Trust it? [yes/no]", "yes"}, {kCaQuestion, "yes"}});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("sent no CA"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("cluster CA    CN=test cluster CA first"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("SHA-256     " + format_fingerprint(first.ca.fingerprint)),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("now trusting the cluster CA"), std::string::npos) << r.output;
    // The question came before the viewer, which then had its console.
    EXPECT_EQ(json_get(read_file(path("viewer.json")), "name"), "web01");
  }
  const std::string file = known_hosts_entries();
  EXPECT_NE(file.find("127.0.0.1:" + std::to_string(port) + " ca " +
                      format_fingerprint(first.ca.fingerprint) + " "),
            std::string::npos)
      << file;
  EXPECT_EQ(file.find(" sha256 "), std::string::npos) << "the pin was replaced: " << file;
  EXPECT_EQ(file_mode(known_hosts()), 0600);

  // The node's certificate is renewed (same CA, new key): trusted without a question, for the
  // API and the console alike.
  Pki renewed = make_pki("renewed", &first.ca);
  MockPveproxy m2({"--listen", "127.0.0.1:" + std::to_string(port), "--cert", renewed.chain_file,
                   "--key", renewed.key_file, "--leaf-only"});
  ASSERT_TRUE(m2.ok());
  ASSERT_EQ(m2.info().port, port);
  auto again = run_pvebridge_in_pty(
      {"connect", "web01", "--host", m2.info().host(), "--viewer", test_viewer_path()},
      env(m2, {{"PVB_TEST_VIEWER_OUT", path("viewer2.json")}}), {});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output.find("Trust"), std::string::npos) << again.output;
  EXPECT_EQ(json_get(read_file(path("viewer2.json")), "name"), "web01");
}

TEST_F(TrustTest, YesToAFirstQuestionThatOfferedTheCaIsNotFollowedByTheCaQuestion) {
  // The mock sends its CA along (as a node behind a full chain would): the first question offers
  // `ca`. Answering `yes` chose the certificate; the console must not ask about the CA again
  // while its VNC password runs out.
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge_in_pty(
      {"connect", "web01", "--host", m.info().host(), "--viewer", test_viewer_path()},
      env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}), {{"[yes/ca/no]", "yes"}});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(kCaQuestion), std::string::npos) << r.output;
  EXPECT_EQ(json_get(read_file(path("viewer.json")), "name"), "web01");
  EXPECT_NE(known_hosts_entries().find(" sha256 " + m.info().fingerprint + " cluster-ca=declined"),
            std::string::npos)
      << known_hosts_entries();
}

TEST_F(TrustTest, NoKeepsThePinAndTheClusterCaIsNotOfferedAgain) {
  MockPveproxy m({"--leaf-only"});
  ASSERT_TRUE(m.ok());
  auto first = run_pvebridge_in_pty(
      {"connect", "web01", "--host", m.info().host(), "--viewer", test_viewer_path()},
      env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}),
      {{"Trust it? [yes/no]", "yes"}, {kCaQuestion, "no"}});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("not asking again"), std::string::npos) << first.output;
  EXPECT_EQ(json_get(read_file(path("viewer.json")), "name"), "web01");
  EXPECT_NE(
      read_file(known_hosts())
          .find(m.info().host() + " sha256 " + m.info().fingerprint + " cluster-ca=declined\n"),
      std::string::npos)
      << read_file(known_hosts());

  auto second = run_pvebridge_in_pty(
      {"connect", "web01", "--host", m.info().host(), "--viewer", test_viewer_path()},
      env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer2.json")}}), {});
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_EQ(second.output.find(kCaQuestion), std::string::npos) << second.output;
  EXPECT_EQ(json_get(read_file(path("viewer2.json")), "name"), "web01");
}

TEST_F(TrustTest, ACertThatDoesNotSignTheLeafIsNeverOffered) {
  Pki first = make_pki("first");
  Pki stranger = make_pki("stranger");
  const std::string stranger_ca = path("stranger-ca.pem");
  ASSERT_TRUE(write_new_private_file(stranger_ca, stranger.ca.cert_pem).ok());
  MockPveproxy m({"--cert", first.chain_file, "--key", first.key_file, "--leaf-only",
                  "--cluster-ca", stranger_ca});
  ASSERT_TRUE(m.ok());
  auto r = run_pvebridge_in_pty(
      {"connect", "web01", "--verbose", "--host", m.info().host(), "--viewer", test_viewer_path()},
      env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}), {{"Trust it? [yes/no]", "yes"}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find(kCaQuestion), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not offering the cluster CA"), std::string::npos) << r.output;
  EXPECT_EQ(known_hosts_entries(), m.info().host() + " sha256 " + m.info().fingerprint + "\n")
      << "the pin stays, and nothing was asked, so nothing was declined";
}

TEST_F(TrustTest, WithJsonOrWithoutATerminalTheClusterCaIsNeverAsked) {
  MockPveproxy m({"--leaf-only"});
  ASSERT_TRUE(m.ok());
  const std::string pinned = m.info().host() + " sha256 " + m.info().fingerprint + "\n";
  ASSERT_TRUE(replace_private_file(known_hosts(), pinned).ok());
  auto json = run_pvebridge_in_pty(
      {"connect", "web01", "--json", "--host", m.info().host(), "--viewer", test_viewer_path()},
      env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer.json")}}), {});
  EXPECT_EQ(json.exit_code, 0) << json.output;
  EXPECT_EQ(json.output.find("Trust"), std::string::npos) << json.output;
  EXPECT_EQ(json_get(read_file(path("viewer.json")), "name"), "web01");

  auto script =
      run_pvebridge({"connect", "web01", "--host", m.info().host(), "--viewer", test_viewer_path()},
                    env(m, {{"PVB_TEST_VIEWER_OUT", path("viewer2.json")}}));
  EXPECT_EQ(script.exit_code, 0) << script.err;
  EXPECT_EQ(script.err.find("Trust"), std::string::npos) << script.err;
  EXPECT_EQ(json_get(read_file(path("viewer2.json")), "name"), "web01");
  EXPECT_EQ(read_file(known_hosts()), pinned) << "neither trusted nor declined";
}

// Not trust, but the other question asked on a terminal: a mistyped TOTP code is asked again.
TEST_F(TrustTest, AWrongTotpCodeIsAskedAgainOnATerminal) {
  MockPveproxy m({"--auth-fail-delay-ms", "0"});
  ASSERT_TRUE(m.ok());
  auto key = mock::base32_decode(m.info().totp_secret);
  ASSERT_TRUE(key.has_value());
  const std::string right = mock::totp_code(*key, std::time(nullptr));
  const std::string wrong = right == "000000" ? "111111" : "000000";
  auto r = run_pvebridge_in_pty(
      {"list", "--host", m.info().host(), "--fingerprint", m.info().fingerprint, "--user",
       m.info().totp_user},
      base_env({{"PVE_PASSWORD", "totp-password"}, {"TERM", "dumb"}}),
      {{"Two-factor code (TOTP): ", wrong}, {"That code was rejected.", right}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("web01"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace pvb::testing
