#include "tests/mock_pveproxy/login.h"

#include <simdjson.h>

#include <tuple>

#include "engine/core/json_writer.h"
#include "tests/mock_pveproxy/mock_crypto.h"
#include "tests/mock_pveproxy/totp.h"

namespace pvb::mock {

LoginService::LoginService(const Inventory& inventory, const TicketAuthority& authority,
                           const Clock& clock)
    : inventory_(inventory), authority_(authority), clock_(clock) {}

MockResponse LoginService::failure() {
  ++counters_.failed;
  return error_reply(401, "authentication failure");
}

bool LoginService::recovery_left(const UserEntry& user) const {
  auto used = used_recovery_keys_.find(user.userid);
  size_t n_used = used == used_recovery_keys_.end() ? 0 : used->second.size();
  return user.recovery_keys.size() > n_used;
}

std::string LoginService::challenge_for(const UserEntry& user) const {
  JsonWriter w;
  w.begin_object();
  if (!user.totp_secret.empty()) w.key("totp").value(true);
  if (recovery_left(user)) w.key("recovery").value("available");
  w.end_object();
  return w.take();
}

namespace {

// True when the challenge JSON allows `method` ("totp": true, or "recovery" present).
bool challenge_allows(std::string_view challenge_json, std::string_view method) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(challenge_json);
  simdjson::dom::element doc, value;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) return false;
  if (doc[method].get(value) != simdjson::SUCCESS) return false;
  bool flag = false;
  if (value.get_bool().get(flag) == simdjson::SUCCESS) return flag;
  return value.is_string();
}

}  // namespace

bool LoginService::check_second_factor(const UserEntry& user, std::string_view response,
                                       std::string_view allowed_json, bool bare_is_totp) {
  std::string_view method = "totp";
  std::string_view value = response;
  size_t colon = response.find(':');
  if (colon != std::string_view::npos) {
    method = response.substr(0, colon);
    value = response.substr(colon + 1);
  } else if (!bare_is_totp) {
    return false;
  }
  if (!challenge_allows(allowed_json, method)) return false;
  if (method == "totp") {
    std::optional<std::string> key = base32_decode(user.totp_secret);
    return key && totp_verify(*key, value, clock_.unix_seconds());
  }
  if (method == "recovery") {
    std::set<std::string>& used = used_recovery_keys_[user.userid];
    for (const std::string& k : user.recovery_keys) {
      if (constant_time_equal(k, value) && used.count(k) == 0) {
        used.insert(k);
        return true;
      }
    }
  }
  return false;
}

MockResponse LoginService::full_ticket_reply(const UserEntry& user) {
  ++counters_.succeeded;
  AuthId who{user.userid, ""};
  // cap: what the web UI uses to grey out buttons, per top-level tree.
  JsonWriter cap;
  cap.begin_object();
  for (const auto& [group, path, prefix] :
       {std::tuple{"vms", "/vms", "VM."}, std::tuple{"nodes", "/nodes", "Sys."}}) {
    cap.key(group).begin_object();
    for (const std::string& p : privileges_at(inventory_, who, path)) {
      if (p.starts_with(prefix)) cap.key(p).value(1);
    }
    cap.end_object();
  }
  for (const char* group : {"access", "dc", "mapping", "sdn", "storage"}) {
    cap.key(group).begin_object().end_object();
  }
  cap.end_object();

  JsonWriter w;
  w.begin_object()
      .key("username")
      .value(user.userid)
      .key("ticket")
      .value(authority_.login_ticket(user.userid))
      .key("CSRFPreventionToken")
      .value(authority_.csrf_token(user.userid))
      .key("cap")
      .raw(cap.str())
      .key("clustername")
      .value(inventory_.cluster_name)
      .end_object();
  return data_reply(w.str());
}

MockResponse LoginService::login(const FormFields& params) {
  std::string username = *find_field(params, "username");
  const std::string& password = *find_field(params, "password");
  const std::string* realm = find_field(params, "realm");
  // Lenient where Proxmox is not: it appends @realm even to "root@pam".
  if (realm && !realm->empty() && username.find('@') == std::string::npos) {
    username += "@" + *realm;
  }
  const UserEntry* user = inventory_.find_user(username);
  if (user == nullptr) return failure();

  // Second step of a two-factor login: the password field carries the answer.
  if (const std::string* challenge_ticket = find_field(params, "tfa-challenge")) {
    std::optional<std::string> challenge =
        authority_.verify_tfa_ticket(*challenge_ticket, user->userid);
    if (!challenge || !check_second_factor(*user, password, *challenge, false)) return failure();
    return full_ticket_reply(*user);
  }

  // Renewal: a valid ticket of this user (root@pam may renew for anyone) as the password.
  if (std::optional<std::string> owner = authority_.verify_login_ticket(password)) {
    if (*owner == user->userid || *owner == "root@pam") {
      ++counters_.renewals;
      return full_ticket_reply(*user);
    }
  }
  if (!constant_time_equal(password, user->password)) return failure();

  if (!user->needs_second_factor()) return full_ticket_reply(*user);
  std::string challenge = challenge_for(*user);
  // The legacy one-step form: the code in `otp` along with the password.
  if (const std::string* otp = find_field(params, "otp")) {
    if (!check_second_factor(*user, *otp, challenge, true)) return failure();
    return full_ticket_reply(*user);
  }
  ++counters_.tfa_challenges;
  JsonWriter w;
  w.begin_object()
      .key("username")
      .value(user->userid)
      .key("ticket")
      .value(authority_.tfa_ticket(user->userid, challenge))
      .key("NeedTFA")
      .value(1)
      .end_object();
  return data_reply(w.str());
}

}  // namespace pvb::mock
