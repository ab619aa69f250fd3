// Shared test fixture: a MockApi over the default inventory with a ManualClock and SeededRandom,
// plus helpers to make requests the way a client would send them and to read JSON replies.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/clock.h"
#include "engine/core/random.h"
#include "engine/core/url.h"
#include "tests/mock_pveproxy/mock_api.h"

namespace pvb::mock::testing {

// A parsed JSON document, read by JSON pointer ("/data/ticket").
class JsonDoc {
 public:
  explicit JsonDoc(std::string_view text) : padded_(text) {
    valid_ = parser_.parse(padded_).get(root_) == simdjson::SUCCESS;
  }
  bool valid() const { return valid_; }
  bool has(std::string_view pointer) const {
    simdjson::dom::element e;
    return valid_ && root_.at_pointer(pointer).get(e) == simdjson::SUCCESS;
  }
  std::optional<std::string> str(std::string_view pointer) const {
    std::string_view s;
    if (!valid_ || root_.at_pointer(pointer).get_string().get(s) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    return std::string(s);
  }
  std::optional<int64_t> num(std::string_view pointer) const {
    int64_t n = 0;
    if (!valid_ || root_.at_pointer(pointer).get_int64().get(n) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    return n;
  }
  bool is_null(std::string_view pointer) const {
    simdjson::dom::element e;
    return valid_ && root_.at_pointer(pointer).get(e) == simdjson::SUCCESS && e.is_null();
  }
  // Array length, or -1 when not an array.
  int64_t size(std::string_view pointer) const {
    simdjson::dom::array a;
    if (!valid_ || root_.at_pointer(pointer).get_array().get(a) != simdjson::SUCCESS) return -1;
    return static_cast<int64_t>(a.size());
  }

 private:
  simdjson::padded_string padded_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool valid_ = false;
};

struct Session {
  std::string user;
  std::string ticket;
  std::string csrf;
};

constexpr int64_t kStartTime = 1700000000;  // 0x6553F100
constexpr std::string_view kRootPassword = "mock-root-password";
constexpr std::string_view kAlicePassword = "alice-password";
constexpr std::string_view kTotpPassword = "totp-password";
constexpr std::string_view kRootToken = "root@pam!pvebridge=5f0c6e2a-8d3b-4c71-9e2f-1a4b7c9d0e36";

class MockApiTest : public ::testing::Test {
 protected:
  MockApiTest() { make_api({}); }

  void make_api(MockOptions options, Inventory inventory = Inventory::builtin_default()) {
    api_.reset();
    api_ = std::make_unique<MockApi>(std::move(inventory), std::move(options), clock_, random_);
  }
  MockApi& api() { return *api_; }

  // Parses and handles a request; form bodies unless content_type says otherwise.
  MockResponse call(const std::string& method, const std::string& target, HttpHeaders headers = {},
                    const std::string& body = "",
                    const std::string& content_type = "application/x-www-form-urlencoded") {
    MockRequest request;
    if (!parse_into(method, target, std::move(headers), body, content_type, request)) {
      return parse_error_;
    }
    return api_->handle(request);
  }

  // Builds the MockRequest through parse(); fails the test if parse refused it.
  MockRequest request(const std::string& method, const std::string& target,
                      HttpHeaders headers = {}, const std::string& body = "") {
    MockRequest request;
    EXPECT_TRUE(parse_into(method, target, std::move(headers), body,
                           "application/x-www-form-urlencoded", request))
        << parse_error_.status << " " << parse_error_.reason;
    return request;
  }

  MockResponse login_reply(std::string_view user, std::string_view password,
                           FormFields extra = {}) {
    FormFields form = {{"username", std::string(user)}, {"password", std::string(password)}};
    for (auto& f : extra) form.push_back(std::move(f));
    return call("POST", "/api2/json/access/ticket", {}, form_encode(form));
  }

  Session login(std::string_view user, std::string_view password) {
    MockResponse r = login_reply(user, password);
    EXPECT_EQ(r.status, 200) << r.reason;
    JsonDoc doc(r.body);
    return Session{std::string(user), doc.str("/data/ticket").value_or(""),
                   doc.str("/data/CSRFPreventionToken").value_or("")};
  }

  static HttpHeaders ticket_headers(const Session& s, bool with_csrf = true) {
    HttpHeaders h;
    h.add("Cookie", "PVEAuthCookie=" + url_encode(s.ticket));
    if (with_csrf) h.add("CSRFPreventionToken", s.csrf);
    return h;
  }
  static HttpHeaders token_headers(std::string_view token = kRootToken) {
    HttpHeaders h;
    h.add("Authorization", "PVEAPIToken=" + std::string(token));
    return h;
  }
  static void add_upgrade_headers(HttpHeaders& h, std::string_view protocol = "binary") {
    h.add("Upgrade", "websocket");
    h.add("Connection", "Upgrade");
    h.add("Sec-WebSocket-Version", "13");
    h.add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    if (!protocol.empty()) h.add("Sec-WebSocket-Protocol", std::string(protocol));
  }

  ManualClock clock_{kStartTime};
  SeededRandom random_{42};

 private:
  bool parse_into(const std::string& method, const std::string& target, HttpHeaders headers,
                  const std::string& body, const std::string& content_type, MockRequest& out) {
    if (!body.empty()) headers.add("Content-Type", content_type);
    auto parsed = api_->parse(method, target, headers, body);
    if (auto* error = std::get_if<MockResponse>(&parsed)) {
      parse_error_ = *error;
      return false;
    }
    out = std::get<MockRequest>(std::move(parsed));
    return true;
  }

  std::unique_ptr<MockApi> api_;
  MockResponse parse_error_;
};

}  // namespace pvb::mock::testing
