// `pvebridge list` filters and the --format output: pure functions over the guests of
// /cluster/resources, so they are unit-tested without a server.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/json_writer.h"
#include "engine/proxmox/guest.h"

namespace pvb {

// Every criterion given must hold (AND). Templates are listed like any guest; their status is
// "template" (see listed_status), so --status stopped leaves them out and --status template
// lists only them.
struct ListFilter {
  std::vector<std::string> patterns;  // globs: any one matching the name or the vmid
  std::string node;                   // exact
  std::optional<GuestType> type;
  std::string status;             // as listed_status says
  std::vector<std::string> tags;  // each must be among the guest's tags (ASCII case ignored)
  std::string pool;               // exact

  bool active() const;
};

// The status `list` shows and --status matches: "template" for a template, else what Proxmox says
// ("running", "stopped", "paused", ... ; "unknown" when it says nothing).
std::string listed_status(const Guest& g);
// Tags from Proxmox's ';'-separated string (',' and blanks tolerated).
std::vector<std::string> split_tags(std::string_view tags);
inline std::vector<std::string> guest_tags(const Guest& g) {
  return split_tags(g.tags);
}

// Shell-style glob over the whole text: '*' any run, '?' one character (UTF-8 aware), '[abc]',
// '[a-z]', '[!...]' or '[^...]' one character of (not of) the set, '\x' the character x.
bool glob_match(std::string_view pattern, std::string_view text);

bool guest_matches(const Guest& g, const ListFilter& filter);
std::vector<Guest> filter_guests(const std::vector<Guest>& guests, const ListFilter& filter);

// --status: checks a status word (Proxmox's and QEMU's run states, "template"); Errc::usage else.
Error check_status_word(std::string_view status);
// --type: "qemu" or "lxc".
std::optional<GuestType> parse_guest_type(std::string_view text);

// --format FIELDS: comma-separated names among kGuestFields. Errc::usage (listing the fields) on
// an unknown or missing one.
Result<std::vector<std::string>> parse_guest_format(std::string_view spec);
inline constexpr std::string_view kGuestFields =
    "vmid, name, node, type, status, tags, pool, lock, template";
// One line per guest, the fields separated by tabs, no header: for scripts ("cut -f2", "read").
// Tags are comma-separated; template is 1 or 0; an absent value is an empty field; tabs and
// control characters inside a value become spaces, so a line is always one guest.
std::string guests_formatted(const std::vector<Guest>& guests,
                             const std::vector<std::string>& fields);

// Who a guest is, as JSON members (node, vmid, type, name or null): in `list --json` and in the
// `listening` event of connect.
void guest_identity_json(JsonWriter& w, const Guest& g);
// The JSON array of `list --json`: node, vmid, type, name, status (as listed_status), template,
// tags, and pool and lock when set.
std::string guests_json(const std::vector<Guest>& guests);
// The aligned table of `list` (a header line first), padded by display width.
std::string guests_table(const std::vector<Guest>& guests);
// Columns a text takes on a terminal in the current locale (wcswidth; code points if the locale
// cannot say).
size_t display_width(std::string_view s);

}  // namespace pvb
