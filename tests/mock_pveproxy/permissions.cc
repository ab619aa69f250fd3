#include "tests/mock_pveproxy/permissions.h"

#include <algorithm>
#include <charconv>

namespace pvb::mock {

const std::vector<std::string>& all_privileges() {
  static const std::vector<std::string> privs = {
      "Sys.Audit", "Sys.Console", "Sys.PowerMgmt", "VM.Allocate",
      "VM.Audit",  "VM.Console",  "VM.PowerMgmt",  "VM.Config.Options",
  };
  return privs;
}

namespace {

// Paths whose ACL entries apply to `path`, most specific first. A guest's pool sits between the
// guest itself and /vms, as pool membership grants more specifically than the /vms subtree.
std::vector<std::string> candidate_paths(const Inventory& inv, std::string_view path) {
  std::vector<std::string> out;
  std::string p(path);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  constexpr std::string_view kVms = "/vms/";
  if (p.starts_with(kVms)) {
    out.push_back(p);
    std::string_view id = std::string_view(p).substr(kVms.size());
    uint32_t vmid = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), vmid);
    if (ec == std::errc() && end == id.data() + id.size()) {
      const GuestEntry* g = inv.find_guest(vmid);
      if (g && !g->pool.empty()) out.push_back("/pool/" + g->pool);
    }
    p = "/vms";
  }
  while (true) {
    if (out.empty() || out.back() != p) out.push_back(p);
    if (p == "/") break;
    size_t slash = p.rfind('/');
    p = slash == 0 ? "/" : p.substr(0, slash);
  }
  return out;
}

std::vector<std::string> expand(const std::vector<std::string>& privs) {
  if (std::find(privs.begin(), privs.end(), "*") != privs.end()) return all_privileges();
  return privs;
}

// The most specific ACL entry of `acl` that applies, or none.
const AclEntry* effective_entry(const std::vector<AclEntry>& acl,
                                const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    for (const AclEntry& e : acl) {
      if (e.path == p) return &e;
    }
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> privileges_at(const Inventory& inv, const AuthId& who,
                                       std::string_view path) {
  const UserEntry* user = inv.find_user(who.userid);
  if (user == nullptr) return {};
  std::vector<std::string> paths = candidate_paths(inv, path);
  std::vector<std::string> privs;
  if (who.userid == "root@pam") {
    privs = all_privileges();  // the superuser, as in Proxmox
  } else if (const AclEntry* e = effective_entry(user->acl, paths)) {
    privs = expand(e->privs);
  }
  if (!who.is_token()) return privs;
  const TokenEntry* token = user->find_token(who.tokenid);
  if (token == nullptr) return {};
  if (!token->privsep) return privs;
  // Privilege separation: the token holds what both it and its user hold.
  const AclEntry* te = effective_entry(token->acl, paths);
  if (te == nullptr) return {};
  std::vector<std::string> token_privs = expand(te->privs);
  std::vector<std::string> both;
  for (const std::string& p : privs) {
    if (std::find(token_privs.begin(), token_privs.end(), p) != token_privs.end()) {
      both.push_back(p);
    }
  }
  return both;
}

bool has_privilege(const Inventory& inv, const AuthId& who, std::string_view path,
                   std::string_view privilege) {
  std::vector<std::string> privs = privileges_at(inv, who, path);
  return std::find(privs.begin(), privs.end(), privilege) != privs.end();
}

}  // namespace pvb::mock
