// Tickets, CSRF tokens and API tokens as Proxmox makes and checks them (PVE::Ticket,
// PVE::AccessControl, pveproxy's auth handler). Proxmox signs tickets with RSA; the mock signs
// with HMAC-SHA256 under a key drawn from the injected Random, which keeps the wire formats:
//   login ticket  PVE:<userid>:<8 hex digits, unix time>::<base64 signature>
//   TFA ticket    PVE:!tfa!<url-escaped JSON challenge>:<time>::<signature>  (bound to the user)
//   CSRF token    <8 hex digits>:<base64 HMAC without padding>                (bound to the user)
//   vncticket     [<password>:]PVEVNC:<time>::<signature>  (bound to authid, guest path, port)
// A ticket of age A (now - time) is valid while min_age < A < max_age, strictly, as in Perl.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "engine/core/clock.h"
#include "engine/core/random.h"
#include "tests/mock_pveproxy/inventory.h"
#include "tests/mock_pveproxy/mock_options.h"
#include "tests/mock_pveproxy/permissions.h"
#include "transports/http/http_message.h"

namespace pvb::mock {

// A generated VNC password: 8 characters from '!' to '`'.
constexpr size_t kVncPasswordLength = 8;

class TicketAuthority {
 public:
  // Keeps references to clock and options: both must outlive it.
  TicketAuthority(const Clock& clock, Random& random, const MockOptions& options);

  std::string login_ticket(std::string_view userid) const;
  // The userid of a valid login ticket; nullopt for anything else, TFA tickets included.
  std::optional<std::string> verify_login_ticket(std::string_view ticket) const;

  std::string tfa_ticket(std::string_view userid, std::string_view challenge_json) const;
  // The challenge JSON of a valid TFA ticket issued to `userid`.
  std::optional<std::string> verify_tfa_ticket(std::string_view ticket,
                                               std::string_view userid) const;

  std::string csrf_token(std::string_view userid) const;
  bool verify_csrf_token(std::string_view userid, std::string_view token) const;

  // `password` empty: no password was generated and the ticket has no prefix.
  // (A password is kVncPasswordLength characters.)
  std::string vnc_ticket(std::string_view authid, std::string_view path, uint16_t port,
                         std::string_view password) const;
  bool verify_vnc_ticket(std::string_view ticket, std::string_view authid, std::string_view path,
                         uint16_t port) const;

  // A new signing key: every ticket issued so far (login, TFA, vncticket) stops verifying, as if
  // all had expired (the expire_auth fault). CSRF tokens keep theirs (a new login brings one).
  void forget_tickets(Random& random);

 private:
  std::string assemble(std::string_view prefix, std::optional<std::string_view> data,
                       std::string_view secret_data) const;
  // The ticket's data part (nullopt inside when it has none), or nullopt when invalid.
  std::optional<std::optional<std::string>> verify(std::string_view prefix, std::string_view ticket,
                                                   std::string_view secret_data, int64_t min_age,
                                                   int64_t max_age) const;
  std::string sign(std::string_view text) const;

  const Clock& clock_;
  const MockOptions& options_;
  std::string ticket_key_;
  std::string csrf_key_;
};

// pveproxy's extract_auth_value: the value after `key=` (or `key `) at the start of `header` or
// after whitespace, up to ';', percent-decoded leniently. nullopt when absent or empty.
std::optional<std::string> extract_auth_value(std::string_view header, std::string_view key);

// Why authentication failed: always 401, the message goes into the reason phrase.
struct AuthFailure {
  std::string message;
};

// Authenticates an API request like pveproxy: an API token from `Authorization: PVEAPIToken=…`
// when present (no CSRF needed), else a ticket from the PVEAuthCookie cookie (or an
// `Authorization: PVEAuthCookie=…` header), which on any method but GET also needs a matching
// CSRFPreventionToken header.
std::variant<AuthId, AuthFailure> authenticate_request(const Inventory& inventory,
                                                       const TicketAuthority& authority,
                                                       const Clock& clock, std::string_view method,
                                                       const HttpHeaders& headers);

// Checks "USER@REALM!TOKENID=SECRET" (already extracted from the header) against the inventory.
std::variant<AuthId, AuthFailure> verify_api_token(const Inventory& inventory, const Clock& clock,
                                                   std::string_view value);

}  // namespace pvb::mock
