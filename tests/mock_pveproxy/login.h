// POST /access/ticket: password login, ticket renewal, and the two-step TOTP / recovery-key
// login, answering like pve-access-control (every failure is `401 authentication failure`, so
// nothing tells a guesser which part was wrong).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "tests/mock_pveproxy/auth.h"
#include "tests/mock_pveproxy/mock_message.h"

namespace pvb::mock {

struct LoginCounters {
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t tfa_challenges = 0;  // first-step replies with NeedTFA
  uint64_t renewals = 0;        // a valid ticket posted as the password
};

class LoginService {
 public:
  // Keeps references to all arguments: they must outlive it.
  LoginService(const Inventory& inventory, const TicketAuthority& authority, const Clock& clock);

  // `params` passed the endpoint's schema check: username and password are present.
  MockResponse login(const FormFields& params);
  const LoginCounters& counters() const { return counters_; }

 private:
  MockResponse full_ticket_reply(const UserEntry& user);
  MockResponse failure();
  // The challenge JSON naming what the user may answer with: {"totp":true,"recovery":"available"}.
  std::string challenge_for(const UserEntry& user) const;
  // Checks "totp:123456" or "recovery:KEY" (a recovery key is used up). A bare code counts as
  // TOTP when `bare_is_totp` (the legacy `otp` parameter).
  bool check_second_factor(const UserEntry& user, std::string_view response,
                           std::string_view allowed_json, bool bare_is_totp);
  bool recovery_left(const UserEntry& user) const;

  const Inventory& inventory_;
  const TicketAuthority& authority_;
  const Clock& clock_;
  std::map<std::string, std::set<std::string>> used_recovery_keys_;
  LoginCounters counters_;
};

}  // namespace pvb::mock
