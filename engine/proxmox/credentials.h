// Credentials for the Proxmox API: a user and password (ticket login, maybe with two-factor), or
// an API token. Parsing only; where they come from (flags, environment, files, prompts) is the
// frontend's business.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/core/error.h"

namespace pvb {

struct ApiToken {
  std::string user;      // root@pam
  std::string token_id;  // pvebridge
  std::string secret;
  // The Authorization header value: "PVEAPIToken=root@pam!pvebridge=SECRET"
  std::string header_value() const;
};

struct Credentials {
  // Exactly one of these is used.
  std::optional<ApiToken> token;
  std::string user;              // with realm: root@pam
  bool realm_defaulted = false;  // the user gave no @REALM and "@pam" was assumed (for hints)
  std::string password;          // ticket login
  std::string otp;               // two-factor code, when known up front
};

// "USER@REALM!TOKENID=SECRET" (the form Proxmox shows when a token is created).
Result<ApiToken> parse_api_token(std::string_view text);
// A user without "@realm" means "@pam". Rejects empty names and ones with spaces or control chars.
Result<std::string> normalize_user(std::string_view user);

}  // namespace pvb
