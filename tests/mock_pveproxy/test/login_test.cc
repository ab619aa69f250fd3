// POST /access/ticket: password login, renewal, token refusal, and the TOTP / recovery flows.
#include <regex>

#include "tests/mock_pveproxy/test/mock_api_fixture.h"
#include "tests/mock_pveproxy/totp.h"

namespace pvb::mock::testing {
namespace {

class LoginTest : public MockApiTest {
 protected:
  std::string current_totp(int64_t offset_s = 0) {
    return totp_code(*base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
                     clock_.unix_seconds() + offset_s);
  }
  // First step for totp@pve; returns the challenge ticket.
  std::string tfa_challenge() {
    MockResponse r = login_reply("totp@pve", kTotpPassword);
    EXPECT_EQ(r.status, 200) << r.reason;
    JsonDoc doc(r.body);
    EXPECT_EQ(doc.num("/data/NeedTFA"), 1);
    return doc.str("/data/ticket").value_or("");
  }
  MockResponse second_step(const std::string& challenge, const std::string& answer,
                           const std::string& user = "totp@pve") {
    return call(
        "POST", "/api2/json/access/ticket", {},
        form_encode({{"username", user}, {"tfa-challenge", challenge}, {"password", answer}}));
  }
};

TEST_F(LoginTest, SuccessGivesTicketCsrfAndCapabilities) {
  MockResponse r = login_reply("root@pam", kRootPassword);
  ASSERT_EQ(r.status, 200) << r.reason;
  EXPECT_EQ(r.delay_ms, 0u);
  EXPECT_EQ(r.content_type, "application/json;charset=UTF-8");
  JsonDoc doc(r.body);
  ASSERT_TRUE(doc.valid());
  EXPECT_EQ(doc.str("/data/username"), "root@pam");
  std::string ticket = doc.str("/data/ticket").value_or("");
  EXPECT_TRUE(std::regex_match(ticket, std::regex(R"(PVE:root@pam:6553F100::[A-Za-z0-9+/]+=*)")))
      << ticket;
  std::string csrf = doc.str("/data/CSRFPreventionToken").value_or("");
  EXPECT_TRUE(std::regex_match(csrf, std::regex(R"(6553F100:[A-Za-z0-9+/]{43})"))) << csrf;
  EXPECT_EQ(doc.num("/data/cap/vms/VM.Console"), 1);
  EXPECT_EQ(doc.str("/data/clustername"), "mockcluster");
  EXPECT_FALSE(doc.has("/data/NeedTFA"));
  EXPECT_EQ(api().counters().logins.succeeded, 1u);
}

TEST_F(LoginTest, JsonBodyAndRealmParameterWork) {
  MockResponse r =
      call("POST", "/api2/json/access/ticket", {},
           R"({"username":"alice","realm":"pve","password":"alice-password"})", "application/json");
  ASSERT_EQ(r.status, 200) << r.reason;
  EXPECT_EQ(JsonDoc(r.body).str("/data/username"), "alice@pve");
  EXPECT_FALSE(JsonDoc(r.body).has("/data/cap/vms/VM.Allocate"));  // alice's ACL, not root's
}

TEST_F(LoginTest, WrongPasswordIs401AfterTheDelay) {
  MockResponse r = login_reply("root@pam", "wrong");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.reason, "authentication failure");
  EXPECT_EQ(r.delay_ms, 3000u);
  EXPECT_TRUE(JsonDoc(r.body).is_null("/data"));
  // An unknown user looks the same: nothing tells a guesser which part was wrong.
  MockResponse unknown = login_reply("nobody@pam", "wrong");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(unknown.reason, "authentication failure");
  EXPECT_EQ(api().counters().logins.failed, 2u);
  EXPECT_EQ(api().counters().auth_failures, 2u);
}

TEST_F(LoginTest, FailureDelayIsConfigurable) {
  MockOptions o;
  o.auth_fail_delay_ms = 250;
  make_api(o);
  EXPECT_EQ(login_reply("root@pam", "wrong").delay_ms, 250u);
}

TEST_F(LoginTest, MissingPasswordIsAParameterError) {
  MockResponse r = call("POST", "/api2/json/access/ticket", {}, "username=root%40pam");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.reason, "Parameter verification failed.");
  EXPECT_EQ(JsonDoc(r.body).str("/errors/password"), "property is missing and it is not optional");
}

TEST_F(LoginTest, TicketRenewalByPostingItAsPassword) {
  Session s = login("alice@pve", kAlicePassword);
  clock_.advance(3600);
  MockResponse r = login_reply("alice@pve", s.ticket);
  ASSERT_EQ(r.status, 200) << r.reason;
  std::string renewed = JsonDoc(r.body).str("/data/ticket").value_or("");
  EXPECT_NE(renewed, s.ticket);
  EXPECT_NE(renewed.find(":6553FF10::"), std::string::npos) << renewed;  // issued an hour later
  EXPECT_EQ(api().counters().logins.renewals, 1u);
  // alice's ticket does not log in as root; root's ticket may renew for anyone.
  EXPECT_EQ(login_reply("root@pam", s.ticket).status, 401);
  Session root = login("root@pam", kRootPassword);
  EXPECT_EQ(login_reply("alice@pve", root.ticket).status, 200);
}

TEST_F(LoginTest, ApiTokenCannotCreateTickets) {
  MockResponse r =
      call("POST", "/api2/json/access/ticket", token_headers(),
           form_encode({{"username", "root@pam"}, {"password", "mock-root-password"}}));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.delay_ms, 3000u);
  EXPECT_NE(r.reason.find("API tokens"), std::string::npos) << r.reason;
}

TEST_F(LoginTest, GetAccessTicketIsAHarmlessDummy) {
  MockResponse r = call("GET", "/api2/json/access/ticket");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(JsonDoc(r.body).is_null("/data"));
}

TEST_F(LoginTest, TotpFlowEndToEnd) {
  std::string challenge = tfa_challenge();
  EXPECT_TRUE(challenge.starts_with("PVE:!tfa!%7B%22totp%22%3Atrue")) << challenge;
  EXPECT_NE(challenge.find("%22recovery%22%3A%22available%22"), std::string::npos) << challenge;
  EXPECT_EQ(api().counters().logins.tfa_challenges, 1u);

  // The challenge is no API ticket.
  Session half{"totp@pve", challenge, ""};
  EXPECT_EQ(call("GET", "/api2/json/version", ticket_headers(half, false)).status, 401);

  clock_.advance(10);
  MockResponse r = second_step(challenge, "totp:" + current_totp());
  ASSERT_EQ(r.status, 200) << r.reason;
  JsonDoc doc(r.body);
  std::string ticket = doc.str("/data/ticket").value_or("");
  EXPECT_TRUE(ticket.starts_with("PVE:totp@pve:")) << ticket;
  EXPECT_TRUE(doc.has("/data/CSRFPreventionToken"));
  Session full{"totp@pve", ticket, ""};
  EXPECT_EQ(call("GET", "/api2/json/version", ticket_headers(full, false)).status, 200);
}

TEST_F(LoginTest, FirstStepHasNoCsrfToken) {
  MockResponse r = login_reply("totp@pve", kTotpPassword);
  JsonDoc doc(r.body);
  EXPECT_FALSE(doc.has("/data/CSRFPreventionToken"));
  EXPECT_EQ(doc.str("/data/username"), "totp@pve");
}

TEST_F(LoginTest, TotpCodeChecks) {
  std::string challenge = tfa_challenge();
  EXPECT_EQ(second_step(challenge, "totp:000000").status, 401);
  std::string wrong = current_totp() == "123456" ? "654321" : "123456";
  EXPECT_EQ(second_step(challenge, "totp:" + wrong).status, 401);
  // Two steps ago is outside the ±1 step window; one step ago is inside.
  EXPECT_EQ(second_step(challenge, "totp:" + current_totp(-60)).status, 401);
  EXPECT_EQ(second_step(challenge, "totp:" + current_totp(-30)).status, 200);
  // Without the method prefix the answer means nothing.
  EXPECT_EQ(second_step(challenge, current_totp()).status, 401);
}

TEST_F(LoginTest, TotpChallengeIsBoundToUserAndExpires) {
  std::string challenge = tfa_challenge();
  EXPECT_EQ(second_step(challenge, "totp:" + current_totp(), "root@pam").status, 401);
  clock_.advance(120);
  EXPECT_EQ(second_step(challenge, "totp:" + current_totp()).status, 401);
}

TEST_F(LoginTest, RecoveryKeyWorksOnce) {
  std::string challenge = tfa_challenge();
  EXPECT_EQ(second_step(challenge, "recovery:4a7f-93c2-1de8-b605").status, 200);
  EXPECT_EQ(second_step(challenge, "recovery:4a7f-93c2-1de8-b605").status, 401);
  EXPECT_EQ(second_step(challenge, "recovery:0000-0000-0000-0000").status, 401);
  EXPECT_EQ(second_step(challenge, "recovery:c0ff-ee12-3456-789a").status, 200);
  // With every key used, new challenges no longer offer recovery.
  std::string later = tfa_challenge();
  EXPECT_EQ(later.find("recovery"), std::string::npos) << later;
  EXPECT_EQ(second_step(later, "recovery:c0ff-ee12-3456-789a").status, 401);
}

TEST_F(LoginTest, LegacyOneStepOtp) {
  EXPECT_EQ(login_reply("totp@pve", kTotpPassword, {{"otp", current_totp()}}).status, 200);
  EXPECT_EQ(login_reply("totp@pve", kTotpPassword, {{"otp", "totp:" + current_totp()}}).status,
            200);
  EXPECT_EQ(login_reply("totp@pve", kTotpPassword, {{"otp", "000000"}}).status, 401);
  EXPECT_EQ(login_reply("totp@pve", "wrong", {{"otp", current_totp()}}).status, 401);
}

}  // namespace
}  // namespace pvb::mock::testing
