#include "tests/mock_pveproxy/server/ready_line.h"

#include "engine/core/json_writer.h"

namespace pvb::mock {

std::string ready_line(const ReadyInfo& info, const Inventory& inventory) {
  const UserEntry* user = inventory.find_user("root@pam");
  if (user == nullptr && !inventory.users.empty()) user = &inventory.users.front();
  const UserEntry* totp = nullptr;
  for (const UserEntry& u : inventory.users) {
    if (!u.totp_secret.empty()) {
      totp = &u;
      break;
    }
  }
  auto string_or_null = [](JsonWriter& w, bool present, const std::string& s) {
    if (present) {
      w.value(s);
    } else {
      w.null();
    }
  };

  JsonWriter w;
  w.begin_object();
  w.key("port").value(int64_t{info.port});
  if (!info.ports.empty()) {
    w.key("ports").begin_array();
    for (uint16_t p : info.ports) w.value(int64_t{p});
    w.end_array();
  }
  w.key("fingerprint").value(format_fingerprint(info.fingerprint));
  w.key("ca_file").value(info.ca_file);
  if (info.spice_proxy_port != 0) w.key("spice_proxy_port").value(int64_t{info.spice_proxy_port});
  w.key("user");
  string_or_null(w, user != nullptr, user ? user->userid : "");
  w.key("password");
  string_or_null(w, user != nullptr, user ? user->password : "");
  w.key("api_token");
  const TokenEntry* token = (user && !user->tokens.empty()) ? &user->tokens.front() : nullptr;
  string_or_null(w, token != nullptr,
                 token ? user->userid + "!" + token->tokenid + "=" + token->secret : "");
  w.key("totp_user");
  string_or_null(w, totp != nullptr, totp ? totp->userid : "");
  w.key("totp_password");
  string_or_null(w, totp != nullptr, totp ? totp->password : "");
  w.key("totp_secret");
  string_or_null(w, totp != nullptr, totp ? totp->totp_secret : "");
  w.end_object();
  return w.take();
}

}  // namespace pvb::mock
