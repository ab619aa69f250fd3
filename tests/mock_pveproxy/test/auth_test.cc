#include "tests/mock_pveproxy/auth.h"

#include <gtest/gtest.h>

#include <regex>

#include "engine/core/url.h"

namespace pvb::mock {
namespace {

constexpr int64_t kNow = 1700000000;  // 0x6553F100

class TicketAuthorityTest : public ::testing::Test {
 protected:
  ManualClock clock_{kNow};
  SeededRandom random_{7};
  MockOptions options_;
  TicketAuthority authority_{clock_, random_, options_};
};

TEST_F(TicketAuthorityTest, LoginTicketHasProxmoxFormat) {
  std::string t = authority_.login_ticket("root@pam");
  EXPECT_TRUE(std::regex_match(t, std::regex(R"(PVE:root@pam:6553F100::[A-Za-z0-9+/]{43}=)"))) << t;
  EXPECT_EQ(authority_.verify_login_ticket(t), "root@pam");
}

TEST_F(TicketAuthorityTest, TamperedTicketsAreRejected) {
  std::string t = authority_.login_ticket("alice@pve");
  std::string other_user = t;
  other_user.replace(4, 5, "mallo");  // PVE:mallo@pve:...
  EXPECT_FALSE(authority_.verify_login_ticket(other_user));
  std::string other_time = t;
  other_time[other_time.find("6553F100")] = '7';
  EXPECT_FALSE(authority_.verify_login_ticket(other_time));
  EXPECT_FALSE(authority_.verify_login_ticket(t.substr(0, t.size() - 2)));
  EXPECT_FALSE(authority_.verify_login_ticket(""));
  EXPECT_FALSE(authority_.verify_login_ticket("PVE:alice@pve:6553F100"));
  EXPECT_FALSE(authority_.verify_login_ticket(" " + t));

  // Another authority (another mock run) has another key.
  SeededRandom other_random(8);
  TicketAuthority other(clock_, other_random, options_);
  EXPECT_FALSE(other.verify_login_ticket(t));
}

TEST_F(TicketAuthorityTest, LoginTicketLivesTwoHoursAndToleratesSkew) {
  std::string t = authority_.login_ticket("root@pam");
  clock_.advance(7199);
  EXPECT_TRUE(authority_.verify_login_ticket(t));
  clock_.advance(1);
  EXPECT_FALSE(authority_.verify_login_ticket(t));
  clock_.set(kNow - 299);  // ticket from a node whose clock runs ahead
  EXPECT_TRUE(authority_.verify_login_ticket(t));
  clock_.set(kNow - 300);
  EXPECT_FALSE(authority_.verify_login_ticket(t));
}

TEST_F(TicketAuthorityTest, CsrfTokenIsBoundToTheUser) {
  std::string csrf = authority_.csrf_token("root@pam");
  EXPECT_TRUE(std::regex_match(csrf, std::regex(R"(6553F100:[A-Za-z0-9+/]{43})"))) << csrf;
  EXPECT_TRUE(authority_.verify_csrf_token("root@pam", csrf));
  EXPECT_FALSE(authority_.verify_csrf_token("alice@pve", csrf));
  EXPECT_FALSE(authority_.verify_csrf_token("root@pam", csrf + "x"));
  EXPECT_FALSE(authority_.verify_csrf_token("root@pam", ""));
  clock_.advance(7200);
  EXPECT_FALSE(authority_.verify_csrf_token("root@pam", csrf));
}

TEST_F(TicketAuthorityTest, TfaTicketCarriesTheEscapedChallenge) {
  std::string t = authority_.tfa_ticket("totp@pve", R"({"totp":true})");
  EXPECT_TRUE(t.starts_with("PVE:!tfa!%7B%22totp%22%3Atrue%7D:6553F100::")) << t;
  EXPECT_EQ(authority_.verify_tfa_ticket(t, "totp@pve"), R"({"totp":true})");
  EXPECT_FALSE(authority_.verify_tfa_ticket(t, "root@pam"));  // bound to the user
  EXPECT_FALSE(authority_.verify_login_ticket(t));            // not a login ticket
  EXPECT_FALSE(authority_.verify_tfa_ticket(authority_.login_ticket("totp@pve"), "totp@pve"));
  clock_.advance(options_.tfa_challenge_life_s);
  EXPECT_FALSE(authority_.verify_tfa_ticket(t, "totp@pve"));
}

TEST_F(TicketAuthorityTest, VncTicketIsBoundToUserPathAndPort) {
  std::string t = authority_.vnc_ticket("root@pam", "/vms/100", 5900, "");
  EXPECT_TRUE(std::regex_match(t, std::regex(R"(PVEVNC:6553F100::[A-Za-z0-9+/]{43}=)"))) << t;
  EXPECT_TRUE(authority_.verify_vnc_ticket(t, "root@pam", "/vms/100", 5900));
  EXPECT_FALSE(authority_.verify_vnc_ticket(t, "root@pam!pvebridge", "/vms/100", 5900));
  EXPECT_FALSE(authority_.verify_vnc_ticket(t, "root@pam", "/vms/101", 5900));
  EXPECT_FALSE(authority_.verify_vnc_ticket(t, "root@pam", "/vms/100", 5901));
}

TEST_F(TicketAuthorityTest, VncTicketWithPasswordIsPrefixedAndCoversIt) {
  std::string t = authority_.vnc_ticket("root@pam", "/vms/100", 5900, "aB3$x+/=");
  EXPECT_TRUE(t.starts_with("aB3$x+/=:PVEVNC:6553F100::")) << t;
  EXPECT_TRUE(authority_.verify_vnc_ticket(t, "root@pam", "/vms/100", 5900));
  std::string other_password = "zB3$x+/=" + t.substr(8);
  EXPECT_FALSE(authority_.verify_vnc_ticket(other_password, "root@pam", "/vms/100", 5900));
  EXPECT_FALSE(authority_.verify_vnc_ticket(t.substr(9), "root@pam", "/vms/100", 5900));
}

TEST_F(TicketAuthorityTest, VncTicketValidFromMinus20ToPlus40Seconds) {
  std::string t = authority_.vnc_ticket("root@pam", "/vms/100", 5900, "");
  clock_.advance(39);
  EXPECT_TRUE(authority_.verify_vnc_ticket(t, "root@pam", "/vms/100", 5900));
  clock_.advance(1);
  EXPECT_FALSE(authority_.verify_vnc_ticket(t, "root@pam", "/vms/100", 5900));
  clock_.set(kNow - 19);
  EXPECT_TRUE(authority_.verify_vnc_ticket(t, "root@pam", "/vms/100", 5900));
  clock_.set(kNow - 20);
  EXPECT_FALSE(authority_.verify_vnc_ticket(t, "root@pam", "/vms/100", 5900));
}

TEST(ExtractAuthValue, FollowsPveproxyRules) {
  EXPECT_EQ(extract_auth_value("PVEAuthCookie=abc", "PVEAuthCookie"), "abc");
  EXPECT_EQ(extract_auth_value("a=b; PVEAuthCookie=PVE%3Aroot%40pam; c=d", "PVEAuthCookie"),
            "PVE:root@pam");
  EXPECT_EQ(extract_auth_value("PVEAPIToken root@pam!t=s", "PVEAPIToken"), "root@pam!t=s");
  // Lenient unescaping: a bad escape stays, '+' stays '+'.
  EXPECT_EQ(extract_auth_value("PVEAuthCookie=a+b%zz", "PVEAuthCookie"), "a+b%zz");
  // The key must start the header or follow whitespace.
  EXPECT_FALSE(extract_auth_value("a=b;PVEAuthCookie=abc", "PVEAuthCookie"));
  EXPECT_FALSE(extract_auth_value("XPVEAuthCookie=abc", "PVEAuthCookie"));
  EXPECT_FALSE(extract_auth_value("PVEAuthCookie=", "PVEAuthCookie"));
  EXPECT_FALSE(extract_auth_value("other=1", "PVEAuthCookie"));
}

class AuthenticateTest : public TicketAuthorityTest {
 protected:
  Inventory inventory_ = Inventory::builtin_default();

  std::variant<AuthId, AuthFailure> auth(std::string_view method, const HttpHeaders& h) {
    return authenticate_request(inventory_, authority_, clock_, method, h);
  }
  static std::string failure(const std::variant<AuthId, AuthFailure>& r) {
    const auto* f = std::get_if<AuthFailure>(&r);
    return f ? f->message : "(no failure)";
  }
};

TEST_F(AuthenticateTest, TokenNeedsNoCsrf) {
  HttpHeaders h;
  h.add("Authorization", "PVEAPIToken=root@pam!pvebridge=5f0c6e2a-8d3b-4c71-9e2f-1a4b7c9d0e36");
  auto r = auth("POST", h);
  ASSERT_TRUE(std::holds_alternative<AuthId>(r)) << failure(r);
  EXPECT_EQ(std::get<AuthId>(r).full(), "root@pam!pvebridge");
}

TEST_F(AuthenticateTest, TokenFailuresSayWhat) {
  auto with = [&](std::string value) {
    HttpHeaders h;
    h.add("Authorization", "PVEAPIToken=" + value);
    return failure(auth("GET", h));
  };
  EXPECT_EQ(with("root@pam!pvebridge=wrong"), "invalid token value!");
  EXPECT_EQ(with("root@pam!other=x"), "no such token 'other' for user 'root@pam'");
  EXPECT_EQ(with("nobody@pam!t=x"), "no such user ('nobody@pam')");
  EXPECT_EQ(with("root@pam"), "no tokenid specified");
  EXPECT_EQ(with("root@pam=x"), "'root@pam' is not a valid token ID");
}

TEST_F(AuthenticateTest, ExpiredTokenIsRefused) {
  inventory_.users[0].tokens[0].expire = kNow - 1;
  HttpHeaders h;
  h.add("Authorization", "PVEAPIToken=root@pam!pvebridge=5f0c6e2a-8d3b-4c71-9e2f-1a4b7c9d0e36");
  EXPECT_EQ(failure(auth("GET", h)), "token 'pvebridge' access expired");
}

TEST_F(AuthenticateTest, TicketFromCookieOrAuthorizationHeader) {
  std::string t = authority_.login_ticket("alice@pve");
  HttpHeaders cookie;
  cookie.add("Cookie", "PVEAuthCookie=" + url_encode(t));
  auto r = auth("GET", cookie);
  ASSERT_TRUE(std::holds_alternative<AuthId>(r)) << failure(r);
  EXPECT_EQ(std::get<AuthId>(r), (AuthId{"alice@pve", ""}));

  HttpHeaders header;
  header.add("Authorization", "PVEAuthCookie=" + t);
  EXPECT_TRUE(std::holds_alternative<AuthId>(auth("GET", header)));
}

TEST_F(AuthenticateTest, NonGetWithTicketNeedsTheUsersCsrfToken) {
  HttpHeaders h;
  h.add("Cookie", "PVEAuthCookie=" + url_encode(authority_.login_ticket("alice@pve")));
  EXPECT_EQ(failure(auth("POST", h)), "permission denied - invalid csrf token");
  h.add("CSRFPreventionToken", authority_.csrf_token("root@pam"));
  EXPECT_EQ(failure(auth("POST", h)), "permission denied - invalid csrf token");
  h.remove("CSRFPreventionToken");
  h.add("CSRFPreventionToken", authority_.csrf_token("alice@pve"));
  EXPECT_TRUE(std::holds_alternative<AuthId>(auth("POST", h)));
  EXPECT_TRUE(std::holds_alternative<AuthId>(auth("PUT", h)));
}

TEST_F(AuthenticateTest, MissingOrBadTicket) {
  EXPECT_EQ(failure(auth("GET", {})), "No ticket");
  HttpHeaders h;
  h.add("Cookie", "PVEAuthCookie=PVE:root@pam:6553F100::AAAA");
  EXPECT_EQ(failure(auth("GET", h)), "permission denied - invalid PVE ticket");
}

}  // namespace
}  // namespace pvb::mock
