#include "engine/proxmox/credentials.h"

namespace pvb {

std::string ApiToken::header_value() const {
  return "PVEAPIToken=" + user + "!" + token_id + "=" + secret;
}

static bool valid_user_chars(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f || c == ':' || c == '!' || c == '=') return false;
  }
  return !s.empty();
}

Result<std::string> normalize_user(std::string_view user) {
  if (!valid_user_chars(user)) {
    return Error(Errc::usage, "invalid user name (expected USER or USER@REALM, e.g. root@pam)");
  }
  auto at = user.rfind('@');
  if (at == std::string_view::npos) return std::string(user) + "@pam";
  if (at == 0 || at + 1 == user.size()) {
    return Error(Errc::usage, "invalid user name (expected USER@REALM, e.g. root@pam)");
  }
  return std::string(user);
}

Result<ApiToken> parse_api_token(std::string_view text) {
  // Never echo the text: it holds the secret.
  const Error bad(Errc::usage,
                  "invalid API token: expected USER@REALM!TOKENID=SECRET (e.g. "
                  "root@pam!pvebridge=xxxxxxxx-xxxx-...)");
  auto bang = text.find('!');
  if (bang == std::string_view::npos) return bad;
  auto eq = text.find('=', bang);
  if (eq == std::string_view::npos) return bad;
  std::string_view user = text.substr(0, bang);
  std::string_view id = text.substr(bang + 1, eq - bang - 1);
  std::string_view secret = text.substr(eq + 1);
  auto at = user.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == user.size() || !valid_user_chars(user) ||
      !valid_user_chars(id) || secret.empty()) {
    return bad;
  }
  for (unsigned char c : secret) {
    if (c <= 0x20 || c == 0x7f) return bad;
  }
  return ApiToken{std::string(user), std::string(id), std::string(secret)};
}

}  // namespace pvb
