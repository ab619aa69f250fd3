// Who a request runs as, and what it may do: a small model of Proxmox's ACLs (see inventory.h
// for the paths and their precedence).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tests/mock_pveproxy/inventory.h"

namespace pvb::mock {

// A user from a ticket login, or one of its API tokens.
struct AuthId {
  std::string userid;   // root@pam
  std::string tokenid;  // empty for a ticket login, else "pvebridge"

  bool is_token() const { return !tokenid.empty(); }
  // What Proxmox calls the authuser: "root@pam" or "root@pam!pvebridge".
  std::string full() const { return is_token() ? userid + "!" + tokenid : userid; }
  bool operator==(const AuthId&) const = default;
};

// Every privilege the mock knows; "*" in an ACL stands for all of them.
const std::vector<std::string>& all_privileges();

// The privileges `who` holds on `path` ("/vms/100", "/nodes/pve1", "/vms", "/").
std::vector<std::string> privileges_at(const Inventory& inv, const AuthId& who,
                                       std::string_view path);
bool has_privilege(const Inventory& inv, const AuthId& who, std::string_view path,
                   std::string_view privilege);

}  // namespace pvb::mock
