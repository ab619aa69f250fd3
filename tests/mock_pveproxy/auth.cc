#include "tests/mock_pveproxy/auth.h"

#include <cstdio>

#include "engine/core/url.h"
#include "tests/mock_pveproxy/mock_crypto.h"

namespace pvb::mock {

namespace {

constexpr std::string_view kLoginPrefix = "PVE";
constexpr std::string_view kVncPrefix = "PVEVNC";
constexpr std::string_view kTfaMarker = "!tfa!";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Perl's URI::Escape::uri_unescape: %XX becomes the byte, anything else stays as it is.
std::string lenient_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string hex_time(int64_t t) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%08llX", static_cast<unsigned long long>(t));
  return buf;
}

// The 8 [0-9A-F] digits of a ticket time, or nullopt.
std::optional<int64_t> parse_hex_time(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return std::nullopt;
    v = v * 16 + hex_digit(c);
  }
  return v;
}

bool has_space(std::string_view s) {
  return s.find_first_of(" \t\r\n\f\v") != std::string_view::npos;
}

}  // namespace

TicketAuthority::TicketAuthority(const Clock& clock, Random& random, const MockOptions& options)
    : clock_(clock), options_(options), ticket_key_(32, '\0'), csrf_key_(32, '\0') {
  random.fill(ticket_key_.data(), ticket_key_.size());
  random.fill(csrf_key_.data(), csrf_key_.size());
}

void TicketAuthority::forget_tickets(Random& random) {
  random.fill(ticket_key_.data(), ticket_key_.size());
}

std::string TicketAuthority::sign(std::string_view text) const {
  return base64_encode(hmac_sha256(ticket_key_, text));
}

std::string TicketAuthority::assemble(std::string_view prefix, std::optional<std::string_view> data,
                                      std::string_view secret_data) const {
  std::string plain(prefix);
  plain += ':';
  if (data) {
    // PVE::Ticket escapes ':' in the data so the time stays the last field.
    for (char c : *data) {
      if (c == ':') {
        plain += "%3A";
      } else {
        plain += c;
      }
    }
    plain += ':';
  }
  plain += hex_time(clock_.unix_seconds());
  std::string full = plain;
  if (!secret_data.empty()) {
    full += ':';
    full += secret_data;
  }
  return plain + "::" + sign(full);
}

std::optional<std::optional<std::string>> TicketAuthority::verify(std::string_view prefix,
                                                                  std::string_view ticket,
                                                                  std::string_view secret_data,
                                                                  int64_t min_age,
                                                                  int64_t max_age) const {
  // ^(PREFIX:\S+)::([^:\s]+)$
  if (has_space(ticket) || ticket.size() <= prefix.size() + 1 || !ticket.starts_with(prefix) ||
      ticket[prefix.size()] != ':') {
    return std::nullopt;
  }
  size_t sep = ticket.rfind("::");
  if (sep == std::string_view::npos || sep <= prefix.size()) return std::nullopt;
  std::string_view sig = ticket.substr(sep + 2);
  std::string_view plain = ticket.substr(0, sep);
  if (sig.empty() || sig.find(':') != std::string_view::npos) return std::nullopt;
  std::string full(plain);
  if (!secret_data.empty()) {
    full += ':';
    full += secret_data;
  }
  if (!constant_time_equal(sign(full), sig)) return std::nullopt;
  // ^PREFIX:(?:(\S+):)?([0-9A-F]{8})$
  std::string_view rest = plain.substr(prefix.size() + 1);
  if (rest.size() < 8) return std::nullopt;
  std::optional<int64_t> issued = parse_hex_time(rest.substr(rest.size() - 8));
  if (!issued) return std::nullopt;
  std::optional<std::string> data;
  if (rest.size() > 8) {
    if (rest.size() < 10 || rest[rest.size() - 9] != ':') return std::nullopt;
    data = lenient_unescape(rest.substr(0, rest.size() - 9));
  }
  int64_t age = clock_.unix_seconds() - *issued;
  if (!(age > min_age && age < max_age)) return std::nullopt;
  return data;
}

std::string TicketAuthority::login_ticket(std::string_view userid) const {
  return assemble(kLoginPrefix, userid, "");
}

std::optional<std::string> TicketAuthority::verify_login_ticket(std::string_view ticket) const {
  auto data = verify(kLoginPrefix, ticket, "", options_.ticket_min_age_s, options_.ticket_life_s);
  if (!data || !*data || (*data)->starts_with(kTfaMarker)) return std::nullopt;
  return **data;
}

std::string TicketAuthority::tfa_ticket(std::string_view userid,
                                        std::string_view challenge_json) const {
  std::string data(kTfaMarker);
  data += url_encode(challenge_json);
  return assemble(kLoginPrefix, data, userid);
}

std::optional<std::string> TicketAuthority::verify_tfa_ticket(std::string_view ticket,
                                                              std::string_view userid) const {
  auto data = verify(kLoginPrefix, ticket, userid, options_.ticket_min_age_s,
                     options_.tfa_challenge_life_s);
  if (!data || !*data || !(*data)->starts_with(kTfaMarker)) return std::nullopt;
  // verify() unescaped the data, which undid the challenge's own escaping (as in Proxmox).
  return (*data)->substr(kTfaMarker.size());
}

std::string TicketAuthority::csrf_token(std::string_view userid) const {
  std::string stamp = hex_time(clock_.unix_seconds());
  std::string text = stamp + ":" + std::string(userid);
  return stamp + ":" + base64_encode(hmac_sha256(csrf_key_, text), /*pad=*/false);
}

bool TicketAuthority::verify_csrf_token(std::string_view userid, std::string_view token) const {
  // ^([A-Z0-9]{8}):(\S+)$
  if (token.size() < 10 || token[8] != ':' || has_space(token)) return false;
  std::optional<int64_t> issued = parse_hex_time(token.substr(0, 8));
  if (!issued) return false;
  std::string text = std::string(token.substr(0, 8)) + ":" + std::string(userid);
  std::string expected = base64_encode(hmac_sha256(csrf_key_, text), /*pad=*/false);
  if (!constant_time_equal(expected, token.substr(9))) return false;
  int64_t age = clock_.unix_seconds() - *issued;
  return age > options_.ticket_min_age_s && age < options_.ticket_life_s;
}

namespace {

std::string vnc_secret(std::string_view authid, std::string_view path, uint16_t port,
                       std::string_view password) {
  std::string s = std::string(authid) + ":" + std::string(path) + ":" + std::to_string(port);
  if (!password.empty()) s += ":" + std::string(password);
  return s;
}

}  // namespace

std::string TicketAuthority::vnc_ticket(std::string_view authid, std::string_view path,
                                        uint16_t port, std::string_view password) const {
  std::string ticket = assemble(kVncPrefix, std::nullopt, vnc_secret(authid, path, port, password));
  if (password.empty()) return ticket;
  return std::string(password) + ":" + ticket;
}

bool TicketAuthority::verify_vnc_ticket(std::string_view ticket, std::string_view authid,
                                        std::string_view path, uint16_t port) const {
  std::string_view password;
  if (!ticket.starts_with("PVEVNC:")) {
    // "<password>:PVEVNC:...": the password may hold ':' itself, but it is always 8 characters.
    if (ticket.size() <= kVncPasswordLength || ticket[kVncPasswordLength] != ':') return false;
    password = ticket.substr(0, kVncPasswordLength);
    ticket.remove_prefix(kVncPasswordLength + 1);
  }
  auto data = verify(kVncPrefix, ticket, vnc_secret(authid, path, port, password),
                     options_.vncticket_min_age_s, options_.vncticket_max_age_s);
  return data && !*data;
}

std::optional<std::string> extract_auth_value(std::string_view header, std::string_view key) {
  // (?:^|\s)KEY(?:=| )([^;]+)
  for (size_t pos = header.find(key); pos != std::string_view::npos;
       pos = header.find(key, pos + 1)) {
    bool at_boundary = pos == 0 || has_space(header.substr(pos - 1, 1));
    size_t after = pos + key.size();
    if (!at_boundary || after >= header.size() || (header[after] != '=' && header[after] != ' ')) {
      continue;
    }
    std::string_view value = header.substr(after + 1);
    value = value.substr(0, value.find(';'));
    if (value.empty()) return std::nullopt;
    return lenient_unescape(value);
  }
  return std::nullopt;
}

std::variant<AuthId, AuthFailure> verify_api_token(const Inventory& inventory, const Clock& clock,
                                                   std::string_view value) {
  // ^(.*)=(.*)$ is greedy: the token id ends at the last '='.
  size_t eq = value.rfind('=');
  if (eq == std::string_view::npos) return AuthFailure{"no tokenid specified"};
  std::string_view full_id = value.substr(0, eq);
  std::string_view secret = value.substr(eq + 1);
  size_t bang = full_id.rfind('!');
  if (bang == std::string_view::npos || bang == 0 || bang + 1 == full_id.size()) {
    return AuthFailure{"'" + std::string(full_id) + "' is not a valid token ID"};
  }
  AuthId who{std::string(full_id.substr(0, bang)), std::string(full_id.substr(bang + 1))};
  const UserEntry* user = inventory.find_user(who.userid);
  if (user == nullptr) return AuthFailure{"no such user ('" + who.userid + "')"};
  const TokenEntry* token = user->find_token(who.tokenid);
  if (token == nullptr) {
    return AuthFailure{"no such token '" + who.tokenid + "' for user '" + who.userid + "'"};
  }
  if (token->expire != 0 && token->expire < clock.unix_seconds()) {
    return AuthFailure{"token '" + who.tokenid + "' access expired"};
  }
  if (!constant_time_equal(token->secret, secret)) return AuthFailure{"invalid token value!"};
  return who;
}

std::variant<AuthId, AuthFailure> authenticate_request(const Inventory& inventory,
                                                       const TicketAuthority& authority,
                                                       const Clock& clock, std::string_view method,
                                                       const HttpHeaders& headers) {
  std::optional<std::string> api_token;
  std::optional<std::string> ticket;
  for (std::string_view h : headers.get_all("Authorization")) {
    if (!api_token) api_token = extract_auth_value(h, "PVEAPIToken");
  }
  for (std::string_view h : headers.get_all("Cookie")) {
    if (!ticket) ticket = extract_auth_value(h, "PVEAuthCookie");
  }
  for (std::string_view h : headers.get_all("Authorization")) {
    if (!ticket) ticket = extract_auth_value(h, "PVEAuthCookie");
  }

  if (api_token) return verify_api_token(inventory, clock, *api_token);
  if (!ticket) return AuthFailure{"No ticket"};
  std::optional<std::string> userid = authority.verify_login_ticket(*ticket);
  if (!userid) return AuthFailure{"permission denied - invalid PVE ticket"};
  if (inventory.find_user(*userid) == nullptr)
    return AuthFailure{"no such user ('" + *userid + "')"};
  if (method != "GET") {
    std::optional<std::string_view> csrf = headers.get("CSRFPreventionToken");
    if (!csrf || !authority.verify_csrf_token(*userid, *csrf)) {
      return AuthFailure{"permission denied - invalid csrf token"};
    }
  }
  return AuthId{*userid, ""};
}

}  // namespace pvb::mock
