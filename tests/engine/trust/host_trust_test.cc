// Trust on first use over real TLS handshakes (a MemPipe, the test PKI), for both client backends:
// unknown servers (asked or not), what each answer stores and how the next connection verifies,
// changed certificates, and the file's safety rules.
#include "engine/trust/host_trust.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/core/base64.h"
#include "engine/core/platform.h"
#include "tests/transports/tls/tls_backend_suite.h"

namespace pvb {
namespace {

using namespace tls_test;

const ApiHost kPve1{"pve1.example.com", 8006};
const ApiHost kPve2{"pve2.example.com", 8006};
const ApiHost kPve3{"pve3.example.com", 8006};

struct Outcome {
  bool connected = false;
  Error error;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

GeneratedCert issue(const std::string& name, const GeneratedCert& ca) {
  auto c = generate_cert({.common_name = name, .dns_sans = {name}, .issuer = &ca});
  EXPECT_TRUE(c.ok());
  return c.ok() ? std::move(c).value() : GeneratedCert{};
}

class HostTrustTest : public ::testing::TestWithParam<TlsBackendKind> {
 protected:
  void SetUp() override {
    auto d = PrivateDir::create("pvb-trust");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    path_ = dir_->path() + "/data/pvebridge/known_hosts";
  }

  // The prompt: records each question, answers from `answers` (then "no").
  TrustPrompt prompt() {
    return [this](const std::string& q) -> Result<std::string> {
      questions.push_back(q);
      if (answers.empty()) return std::string("no");
      std::string a = answers.front();
      answers.erase(answers.begin());
      return a;
    };
  }

  std::unique_ptr<HostTrust> open(TrustPrompt p, std::vector<ApiHost> hosts = {kPve1}) {
    HostTrustOptions o;
    o.known_hosts_path = path_;
    o.base.system_ca_file = system_ca_;
    auto t = HostTrust::open(o, std::move(p));
    EXPECT_TRUE(t.ok()) << t.error().message();
    if (!t.ok()) return nullptr;
    Error e = (*t)->prepare(hosts);
    EXPECT_TRUE(e.ok()) << e.message();
    return std::move(*t);
  }

  Outcome connect(HostTrust& trust, const ApiHost& host, const GeneratedCert& leaf,
                  const GeneratedCert* ca_in_chain) {
    Loop loop;
    // The context a frontend makes from the host's trust, on the backend under test.
    TlsClientConfig cfg;
    static_cast<TlsTrust&>(cfg) = *trust.trust(host);
    cfg.backend = GetParam();
    auto ctx = TlsContext::create_client(cfg);
    EXPECT_TRUE(ctx.ok()) << ctx.error().message();
    TlsPair p(loop, *ctx, server_on(TlsBackendKind::mbedtls, leaf, ca_in_chain), host.host);
    p.start();
    loop.run_until([&] { return p.c.connected || (p.c.closed && p.s.closed); });
    return {p.c.connected, p.c.error};
  }

  void write_file(const std::string& text, mode_t mode = 0600) {
    ASSERT_TRUE(replace_private_file(path_, text).ok());
    chmod(path_.c_str(), mode);
  }

  std::optional<PrivateDir> dir_;
  std::string path_;
  std::string system_ca_ = "/etc/ssl/certs/ca-certificates.crt";
  std::vector<std::string> questions;
  std::vector<std::string> answers;
};

TEST_P(HostTrustTest, UnknownServerWithoutAPromptFailsWithItsFingerprint) {
  auto trust = open(nullptr);
  Outcome o = connect(*trust, kPve1, pki().leaf, &pki().ca);
  ASSERT_FALSE(o.connected);
  ASSERT_EQ(o.error.code(), Errc::tls_verify);
  Error e = trust->resolve_refusal(kPve1, o.error, {kPve1});
  EXPECT_EQ(e.code(), Errc::tls_verify);
  const std::string fp = format_fingerprint(pki().leaf.fingerprint);
  EXPECT_NE(e.message().find("pve1.example.com:8006 is not a trusted server"), std::string::npos)
      << e.message();
  EXPECT_NE(e.message().find("--fingerprint " + fp), std::string::npos) << e.message();
  EXPECT_NE(e.message().find(path_), std::string::npos);
  EXPECT_EQ(file_mode(path_), -1) << "nothing is written without an answer";
}

TEST_P(HostTrustTest, YesPinsTheCertificateForThisAndLaterRuns) {
  answers = {"yes"};
  auto trust = open(prompt());
  Outcome first = connect(*trust, kPve1, pki().leaf, &pki().ca);
  ASSERT_FALSE(first.connected);
  ASSERT_TRUE(trust->resolve_refusal(kPve1, first.error, {kPve1}).ok());
  ASSERT_EQ(questions.size(), 1u);
  const std::string& q = questions[0];
  EXPECT_NE(q.find("CN=pve1.example.com"), std::string::npos) << q;
  EXPECT_NE(q.find(format_fingerprint(pki().leaf.fingerprint)), std::string::npos) << q;
  EXPECT_NE(q.find(format_fingerprint(pki().ca.fingerprint)), std::string::npos) << q;
  EXPECT_NE(q.find("[yes/ca/no]"), std::string::npos) << q;

  EXPECT_NE(slurp(path_).find("pve1.example.com:8006 sha256 " +
                              format_fingerprint(pki().leaf.fingerprint)),
            std::string::npos)
      << slurp(path_);
  EXPECT_EQ(file_mode(path_), 0600);
  EXPECT_EQ(file_mode(dir_->path() + "/data/pvebridge"), 0700);
  EXPECT_EQ(file_mode(dir_->path() + "/data"), 0700);
  EXPECT_TRUE(connect(*trust, kPve1, pki().leaf, &pki().ca).connected);

  auto next_run = open(prompt());
  Outcome again = connect(*next_run, kPve1, pki().leaf, nullptr);
  EXPECT_TRUE(again.connected) << again.error.message();
  EXPECT_EQ(questions.size(), 1u);
}

TEST_P(HostTrustTest, CaTrustsRenewalsAndTheOtherNodesWithoutAnEntry) {
  const std::string pve3_line =
      "pve3.example.com:8006 sha256 " + format_fingerprint(pki().self_signed.fingerprint);
  write_file(pve3_line + "\n");
  answers = {"ca"};
  auto trust = open(prompt(), {kPve1, kPve2, kPve3});
  Outcome first = connect(*trust, kPve1, pki().leaf, &pki().ca);
  ASSERT_FALSE(first.connected);
  ASSERT_TRUE(trust->resolve_refusal(kPve1, first.error, {kPve1, kPve2, kPve3}).ok());
  ASSERT_EQ(questions.size(), 1u);
  EXPECT_NE(questions[0].find("trust the CA for pve1.example.com:8006, pve2.example.com:8006:"),
            std::string::npos)
      << questions[0];
  const std::string file = slurp(path_);
  const std::string ca_fp = format_fingerprint(pki().ca.fingerprint);
  EXPECT_NE(file.find("pve1.example.com:8006 ca " + ca_fp + " "), std::string::npos) << file;
  EXPECT_NE(file.find("pve2.example.com:8006 ca " + ca_fp + " "), std::string::npos) << file;
  EXPECT_NE(file.find(pve3_line + "\n"), std::string::npos) << "an existing entry is left alone";

  auto next_run = open(prompt(), {kPve1, kPve2});
  GeneratedCert renewed = issue("pve1.example.com", pki().ca);
  Outcome r = connect(*next_run, kPve1, renewed, nullptr);
  EXPECT_TRUE(r.connected) << r.error.message();
  GeneratedCert pve2 = issue("pve2.example.com", pki().ca);
  Outcome other = connect(*next_run, kPve2, pve2, &pki().ca);
  EXPECT_TRUE(other.connected) << other.error.message();
  // The CA vouches for names, not for anything: pve1's certificate is not pve2's.
  Outcome wrong = connect(*next_run, kPve2, renewed, nullptr);
  EXPECT_FALSE(wrong.connected);
  EXPECT_EQ(questions.size(), 1u);
}

TEST_P(HostTrustTest, NoAndUnclearAnswersTrustNothing) {
  answers = {"no"};
  auto trust = open(prompt());
  Outcome o = connect(*trust, kPve1, pki().leaf, &pki().ca);
  Error no = trust->resolve_refusal(kPve1, o.error, {kPve1});
  EXPECT_EQ(no.code(), Errc::tls_verify);
  EXPECT_NE(no.message().find("was not trusted"), std::string::npos) << no.message();
  EXPECT_EQ(file_mode(path_), -1);

  questions.clear();
  answers = {"maybe", "sure?", "ok"};
  auto again = open(prompt());
  Outcome o2 = connect(*again, kPve1, pki().leaf, &pki().ca);
  EXPECT_EQ(again->resolve_refusal(kPve1, o2.error, {kPve1}).code(), Errc::tls_verify);
  ASSERT_EQ(questions.size(), 3u);
  EXPECT_NE(questions[1].find("Please answer yes, ca or no"), std::string::npos) << questions[1];
  EXPECT_EQ(file_mode(path_), -1);
}

TEST_P(HostTrustTest, APastedFingerprintChoosesWhatItNames) {
  answers = {"  " + format_fingerprint(pki().ca.fingerprint) + " "};
  auto trust = open(prompt());
  Outcome o = connect(*trust, kPve1, pki().leaf, &pki().ca);
  ASSERT_TRUE(trust->resolve_refusal(kPve1, o.error, {kPve1}).ok());
  EXPECT_NE(slurp(path_).find("pve1.example.com:8006 ca "), std::string::npos);
  EXPECT_TRUE(connect(*trust, kPve1, pki().leaf, &pki().ca).connected);
}

TEST_P(HostTrustTest, AChangedCertificateIsRefusedLoudlyWithoutAsking) {
  write_file("# mine\npve1.example.com:8006 sha256 " +
             format_fingerprint(pki().self_signed.fingerprint) + "\n");
  answers = {"yes"};
  auto trust = open(prompt());
  Outcome o = connect(*trust, kPve1, pki().leaf, &pki().ca);
  ASSERT_FALSE(o.connected);
  Error e = trust->resolve_refusal(kPve1, o.error, {kPve1});
  EXPECT_EQ(e.code(), Errc::tls_verify);
  const std::string m = e.message();
  EXPECT_NE(m.find("has CHANGED"), std::string::npos) << m;
  EXPECT_NE(m.find(format_fingerprint(pki().self_signed.fingerprint)), std::string::npos) << m;
  EXPECT_NE(m.find(format_fingerprint(pki().leaf.fingerprint)), std::string::npos) << m;
  EXPECT_NE(m.find(path_ + " line 2"), std::string::npos) << m;
  EXPECT_NE(m.find("sed -i '2d' '" + path_ + "'"), std::string::npos) << m;
  EXPECT_TRUE(questions.empty());
}

TEST_P(HostTrustTest, ACaEntryRefusesACertificateFromAnotherCa) {
  answers = {"ca"};
  auto trust = open(prompt());
  Outcome o = connect(*trust, kPve1, pki().leaf, &pki().ca);
  ASSERT_TRUE(trust->resolve_refusal(kPve1, o.error, {kPve1}).ok());
  Outcome stranger = connect(*trust, kPve1, pki().stranger, &pki().other_ca);
  ASSERT_FALSE(stranger.connected);
  Error e = trust->resolve_refusal(kPve1, stranger.error, {kPve1});
  EXPECT_EQ(e.code(), Errc::tls_verify);
  EXPECT_NE(e.message().find("does not verify with the CA"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find(format_fingerprint(pki().stranger.fingerprint)), std::string::npos);
  EXPECT_EQ(questions.size(), 1u);
}

TEST_P(HostTrustTest, WithoutItsCaOnlyTheCertificateIsOffered) {
  answers = {"ca", "yes"};
  auto trust = open(prompt());
  Outcome o = connect(*trust, kPve1, pki().leaf, nullptr);  // as pveproxy: the leaf alone
  ASSERT_TRUE(trust->resolve_refusal(kPve1, o.error, {kPve1}).ok());
  ASSERT_EQ(questions.size(), 2u);  // "ca" is not an answer here
  EXPECT_NE(questions[0].find("sent no CA"), std::string::npos) << questions[0];
  EXPECT_NE(questions[0].find("[yes/no]"), std::string::npos);
  EXPECT_NE(slurp(path_).find(" sha256 "), std::string::npos);
}

TEST_P(HostTrustTest, NoCaIsOfferedForANameItDoesNotVouchFor) {
  const ApiHost alias{"alias.example.com", 8006};
  answers = {"yes"};
  auto trust = open(prompt(), {alias});
  Outcome o = connect(*trust, alias, pki().leaf, &pki().ca);
  ASSERT_TRUE(trust->resolve_refusal(alias, o.error, {alias}).ok());
  ASSERT_EQ(questions.size(), 1u);
  EXPECT_EQ(questions[0].find("[yes/ca/no]"), std::string::npos) << questions[0];
  // A pinned certificate does not care for names: the alias now connects.
  EXPECT_TRUE(connect(*trust, alias, pki().leaf, &pki().ca).connected);
}

TEST_P(HostTrustTest, AServerTheSystemTrustsNeedsNoEntry) {
  const std::string bundle = dir_->path() + "/bundle.pem";
  ASSERT_TRUE(replace_private_file(bundle, pki().ca.cert_pem).ok());
  system_ca_ = bundle;
  auto trust = open(prompt());
  Outcome o = connect(*trust, kPve1, pki().leaf, &pki().ca);
  EXPECT_TRUE(o.connected) << o.error.message();
  EXPECT_TRUE(questions.empty());
  EXPECT_EQ(file_mode(path_), -1);
}

TEST_P(HostTrustTest, OtherErrorsPassUnchanged) {
  auto trust = open(prompt());
  Error refused(Errc::connect, "connection refused");
  Error e = trust->resolve_refusal(kPve1, refused, {kPve1});
  EXPECT_EQ(e.code(), Errc::connect);
  EXPECT_EQ(e.message(), "connection refused");
  Error verify(Errc::tls_verify, "no rejection was recorded for this");
  EXPECT_EQ(trust->resolve_refusal(kPve1, verify, {kPve1}).message(), verify.message());
  EXPECT_TRUE(questions.empty());
}

TEST_P(HostTrustTest, AFileOthersMayWriteIsRefused) {
  write_file("# nothing\n", 0666);
  HostTrustOptions o;
  o.known_hosts_path = path_;
  auto t = HostTrust::open(o, nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code(), Errc::usage);
  EXPECT_NE(t.error().message().find("chmod 600"), std::string::npos) << t.error().message();
}

TEST_P(HostTrustTest, ADamagedLineForAHostStopsBeforeConnecting) {
  write_file("pve1.example.com:8006 sha256 nonsense\n");
  HostTrustOptions o;
  o.known_hosts_path = path_;
  auto t = HostTrust::open(o, nullptr);
  ASSERT_TRUE(t.ok());
  Error e = (*t)->prepare({kPve2});
  EXPECT_TRUE(e.ok()) << "other hosts are not affected: " << e.message();
  e = (*t)->prepare({kPve1});
  EXPECT_EQ(e.code(), Errc::usage);
  EXPECT_NE(e.message().find("line 1"), std::string::npos) << e.message();
}

// --- the cluster CA from a console's vncproxy reply
// -----------------------------------------------

class ClusterCaTest : public HostTrustTest {
 protected:
  // pve1 pinned, as after a `yes` on an earlier run.
  std::string pin_line() const {
    return "pve1.example.com:8006 sha256 " + format_fingerprint(pki().leaf.fingerprint);
  }
  ClusterCaOffer offer(HostTrust& trust, const std::string& ca_pem,
                       std::vector<std::vector<uint8_t>> chain = {pki().leaf.der}) {
    return trust.offer_cluster_ca(kPve1, ca_pem, chain, {kPve1, kPve2});
  }
};

TEST_P(ClusterCaTest, YesReplacesThePinWithTheCaForThisAndTheUnknownHosts) {
  write_file("# mine\n" + pin_line() + "\n");
  answers = {"yes"};
  auto trust = open(prompt(), {kPve1, kPve2});
  ClusterCaOffer r = offer(*trust, pki().ca.cert_pem);
  EXPECT_EQ(r.outcome, ClusterCaOffer::Outcome::trusted) << r.detail;
  EXPECT_EQ(r.detail, "pve1.example.com:8006, pve2.example.com:8006");
  ASSERT_EQ(questions.size(), 1u);
  const std::string& q = questions[0];
  EXPECT_NE(q.find(format_fingerprint(pki().ca.fingerprint)), std::string::npos) << q;
  EXPECT_NE(q.find(format_fingerprint(pki().leaf.fingerprint)), std::string::npos) << q;
  EXPECT_NE(q.find("(pve2.example.com:8006)"), std::string::npos) << q;
  EXPECT_NE(q.find("[yes/no]"), std::string::npos) << q;

  const std::string file = slurp(path_);
  const std::string ca_fp = format_fingerprint(pki().ca.fingerprint);
  EXPECT_EQ(file.rfind("# mine\npve1.example.com:8006 ca " + ca_fp + " ", 0), 0u) << file;
  EXPECT_NE(file.find("pve2.example.com:8006 ca " + ca_fp + " "), std::string::npos) << file;
  EXPECT_EQ(file.find(" sha256 "), std::string::npos) << file;
  EXPECT_EQ(file_mode(path_), 0600);

  // Connections from now on verify by the CA: a renewed certificate is trusted at once.
  GeneratedCert renewed = issue("pve1.example.com", pki().ca);
  Outcome o = connect(*trust, kPve1, renewed, nullptr);
  EXPECT_TRUE(o.connected) << o.error.message();
  // A CA entry is never offered anything again.
  EXPECT_EQ(offer(*trust, pki().ca.cert_pem, {renewed.der}).outcome,
            ClusterCaOffer::Outcome::not_applicable);
  auto next_run = open(prompt(), {kPve1});
  EXPECT_EQ(offer(*next_run, pki().ca.cert_pem).outcome, ClusterCaOffer::Outcome::not_applicable);
  EXPECT_EQ(questions.size(), 1u);
}

TEST_P(ClusterCaTest, ACaOfferedAtFirstContactIsNotOfferedAgain) {
  // The server sent its CA, so the first question offered `ca`; the answer was `yes`.
  answers = {"yes", "yes"};
  auto trust = open(prompt(), {kPve1, kPve2});
  Outcome first = connect(*trust, kPve1, pki().leaf, &pki().ca);
  ASSERT_FALSE(first.connected);
  ASSERT_TRUE(trust->resolve_refusal(kPve1, first.error, {kPve1, kPve2}).ok());
  ASSERT_EQ(questions.size(), 1u);
  ASSERT_NE(questions[0].find("[yes/ca/no]"), std::string::npos) << questions[0];
  EXPECT_EQ(offer(*trust, pki().ca.cert_pem).outcome, ClusterCaOffer::Outcome::not_applicable);
  EXPECT_NE(slurp(path_).find(pin_line() + " cluster-ca=declined\n"), std::string::npos)
      << slurp(path_);
  auto next_run = open(prompt());
  EXPECT_EQ(offer(*next_run, pki().ca.cert_pem).outcome, ClusterCaOffer::Outcome::not_applicable);
  EXPECT_EQ(questions.size(), 1u);
}

TEST_P(ClusterCaTest, ACaNotOfferedAtFirstContactIsOfferedOnce) {
  // Stock pveproxy: only the leaf, so the first question could offer only the certificate.
  answers = {"yes", "no"};
  auto trust = open(prompt(), {kPve1, kPve2});
  Outcome first = connect(*trust, kPve1, pki().leaf, nullptr);
  ASSERT_FALSE(first.connected);
  ASSERT_TRUE(trust->resolve_refusal(kPve1, first.error, {kPve1, kPve2}).ok());
  EXPECT_EQ(offer(*trust, pki().ca.cert_pem).outcome, ClusterCaOffer::Outcome::declined);
  EXPECT_EQ(questions.size(), 2u);
}

TEST_P(ClusterCaTest, NoKeepsThePinAndIsRememberedForLaterRuns) {
  write_file(pin_line() + "\n");
  answers = {"no"};
  auto trust = open(prompt());
  ClusterCaOffer r = offer(*trust, pki().ca.cert_pem);
  EXPECT_EQ(r.outcome, ClusterCaOffer::Outcome::declined) << r.detail;
  EXPECT_TRUE(r.detail.empty()) << r.detail;
  EXPECT_EQ(slurp(path_), pin_line() + " cluster-ca=declined\n");
  EXPECT_TRUE(connect(*trust, kPve1, pki().leaf, nullptr).connected) << "the pin still works";
  // Not asked again: neither by this command nor by the next one.
  EXPECT_EQ(offer(*trust, pki().ca.cert_pem).outcome, ClusterCaOffer::Outcome::not_applicable);
  auto next_run = open(prompt());
  EXPECT_TRUE(connect(*next_run, kPve1, pki().leaf, nullptr).connected);
  EXPECT_EQ(offer(*next_run, pki().ca.cert_pem).outcome, ClusterCaOffer::Outcome::not_applicable);
  EXPECT_EQ(questions.size(), 1u);
}

TEST_P(ClusterCaTest, AnEmptyAnswerIsNoAndAPastedFingerprintIsYes) {
  write_file(pin_line() + "\n");
  answers = {""};
  auto trust = open(prompt());
  EXPECT_EQ(offer(*trust, pki().ca.cert_pem).outcome, ClusterCaOffer::Outcome::declined);

  write_file(pin_line() + "\n");
  answers = {"perhaps", " " + format_fingerprint(pki().ca.fingerprint)};
  auto again = open(prompt());
  EXPECT_EQ(offer(*again, pki().ca.cert_pem).outcome, ClusterCaOffer::Outcome::trusted);
  ASSERT_EQ(questions.size(), 3u);
  EXPECT_NE(questions[2].find("Please answer yes or no"), std::string::npos) << questions[2];

  // Three unclear answers: nothing is trusted, and nothing is recorded either.
  write_file(pin_line() + "\n");
  answers = {"a", "b", "c"};
  auto unclear = open(prompt());
  EXPECT_EQ(offer(*unclear, pki().ca.cert_pem).outcome, ClusterCaOffer::Outcome::not_asked);
  EXPECT_EQ(slurp(path_), pin_line() + "\n");
}

TEST_P(ClusterCaTest, ACertThatDoesNotVouchForThePinIsNeverOffered) {
  write_file(pin_line() + "\n");
  answers = {"yes", "yes", "yes", "yes", "yes"};
  auto trust = open(prompt());
  struct Case {
    std::string pem;
    std::vector<std::vector<uint8_t>> chain;
    std::string why;
  };
  const std::vector<Case> cases = {
      {pki().other_ca.cert_pem, {pki().leaf.der}, "does not verify"},  // another cluster's CA
      {pki().leaf.cert_pem, {pki().leaf.der}, "not a self-issued CA"},
      {"not a certificate", {pki().leaf.der}, "not a PEM certificate"},
      // The connection's certificate is not the pinned one (cannot happen over a pinned context).
      {pki().ca.cert_pem, {pki().stranger.der}, "not the pinned one"},
      {pki().ca.cert_pem, {}, "not the pinned one"},
  };
  for (const Case& c : cases) {
    auto fresh = open(prompt());
    ClusterCaOffer r = offer(*fresh, c.pem, c.chain);
    EXPECT_EQ(r.outcome, ClusterCaOffer::Outcome::not_offered) << c.why;
    EXPECT_NE(r.detail.find(c.why), std::string::npos) << r.detail;
  }
  EXPECT_TRUE(questions.empty());
  EXPECT_EQ(slurp(path_), pin_line() + "\n");
  // A reply without a `cert` says nothing at all.
  EXPECT_EQ(offer(*trust, "").outcome, ClusterCaOffer::Outcome::not_applicable);
}

TEST_P(ClusterCaTest, NobodyIsAskedWithoutAPromptOrForHostsNotPinned) {
  write_file(pin_line() + "\n");
  auto silent = open(nullptr);
  ClusterCaOffer r = offer(*silent, pki().ca.cert_pem);
  EXPECT_EQ(r.outcome, ClusterCaOffer::Outcome::not_asked);
  ASSERT_TRUE(r.ca.has_value());
  EXPECT_EQ(r.ca->fingerprint, pki().ca.fingerprint);
  EXPECT_EQ(slurp(path_), pin_line() + "\n") << "nothing recorded";

  // A host the system CAs trust has no entry; one trusted by its CA needs nothing.
  std::filesystem::remove(path_);
  auto unknown = open(prompt());
  EXPECT_EQ(offer(*unknown, pki().ca.cert_pem).outcome, ClusterCaOffer::Outcome::not_applicable);
  write_file("pve1.example.com:8006 ca " + format_fingerprint(pki().ca.fingerprint) + " " +
             base64_encode(pki().ca.der) + "\n");
  auto by_ca = open(prompt());
  EXPECT_EQ(offer(*by_ca, pki().ca.cert_pem).outcome, ClusterCaOffer::Outcome::not_applicable);
  EXPECT_TRUE(questions.empty());
}

TEST(ClusterCaForPin, TheCaMustSignThePinnedLeafForTheName) {
  const Sha256Fingerprint pin = pki().leaf.fingerprint;
  auto ok = cluster_ca_for_pin(pki().ca.cert_pem, {pki().leaf.der}, pin, "pve1.example.com");
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(*ok, pki().ca.der);
  // Several certificates: the one that verifies is chosen.
  auto two = cluster_ca_for_pin(pki().other_ca.cert_pem + pki().ca.cert_pem, {pki().leaf.der}, pin,
                                "pve1.example.com");
  ASSERT_TRUE(two.ok()) << two.error().message();
  EXPECT_EQ(*two, pki().ca.der);
  EXPECT_FALSE(
      cluster_ca_for_pin(pki().ca.cert_pem, {pki().leaf.der}, pin, "other.example.com").ok());
}

TEST(OfferableCa, OnlyASelfIssuedCaThatVerifiesTheChainForTheName) {
  const std::vector<std::vector<uint8_t>> chain = {pki().leaf.der, pki().ca.der};
  EXPECT_EQ(offerable_ca(chain, "pve1.example.com"), 1u);
  EXPECT_EQ(offerable_ca(chain, "192.0.2.10"), 1u);
  EXPECT_FALSE(offerable_ca(chain, "other.example.com"));
  EXPECT_FALSE(offerable_ca({pki().leaf.der}, "pve1.example.com"));
  EXPECT_FALSE(offerable_ca({pki().leaf.der, pki().other_ca.der}, "pve1.example.com"));
  EXPECT_FALSE(offerable_ca({pki().self_signed.der, pki().self_signed.der}, "pve1.example.com"));
}

INSTANTIATE_TEST_SUITE_P(Backends, HostTrustTest, all_backends(), backend_param_name);
INSTANTIATE_TEST_SUITE_P(Backends, ClusterCaTest, all_backends(), backend_param_name);

}  // namespace
}  // namespace pvb
