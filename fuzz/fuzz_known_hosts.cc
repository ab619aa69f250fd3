// The known_hosts text format (engine/trust/known_hosts.h) on arbitrary bytes.
//
// Input: the file's text. The last 4 bytes (when there are that many) also pick a server and a
// fingerprint to set() afterwards (a CA, or a pin that may carry `cluster-ca=declined`).
//
// Invariants:
// - parsing never fails, and the text is written back exactly (each line ended by '\n');
// - every entry's own line parses back to the same entry; keys are already normalized;
// - a server's lookup fails exactly when a damaged line names it, else it finds the first entry;
// - after set(), the server's lookup finds what was set, in the written text as well, every other
//   server keeps its entries, and no damaged line names the server any more.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>

#include "engine/trust/known_hosts.h"
#include "fuzz/fuzz_support.h"

namespace pvb::fuzz {
namespace {

bool same(const KnownHost& a, const KnownHost& b) {
  return a.server == b.server && a.kind == b.kind && a.fingerprint == b.fingerprint &&
         a.ca_der == b.ca_der && a.cluster_ca_declined == b.cluster_ca_declined;
}

std::map<std::string, size_t> entries_per_server(const KnownHosts& kh) {
  std::map<std::string, size_t> n;
  for (const KnownHost& e : kh.entries()) ++n[e.server];
  return n;
}

void check_lookups(const KnownHosts& kh) {
  for (const KnownHost& e : kh.entries()) {
    auto key = parse_known_host_key(e.server);
    FUZZ_CHECK(key && *key == e.server, "entry key not normalized: " + printable(e.server));
    KnownHosts line = KnownHosts::parse(format_known_host(e));
    FUZZ_CHECK(line.entries().size() == 1 && same(line.entries()[0], e),
               "an entry's line does not parse back to it: " + printable(format_known_host(e)));
    bool damaged = false;
    for (const KnownHostsProblem& p : kh.problems()) damaged |= p.server == e.server;
    auto found = kh.find(e.server);
    FUZZ_CHECK(found.ok() != damaged,
               "lookup of " + printable(e.server) + " disagrees with the damaged lines");
    if (found.ok()) {
      FUZZ_CHECK(*found != nullptr, "an entry was not found: " + printable(e.server));
    }
  }
  for (const KnownHostsProblem& p : kh.problems()) {
    if (p.server.empty()) continue;
    auto found = kh.find(p.server);
    FUZZ_CHECK(!found.ok(), "a damaged line did not block " + printable(p.server));
    FUZZ_CHECK(found.error().message().find('\n') == std::string::npos, "multi-line error");
  }
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  using namespace pvb::fuzz;
  std::string_view text(reinterpret_cast<const char*>(bytes), size);

  KnownHosts kh = KnownHosts::parse(text);
  std::string expected(text);
  if (!expected.empty() && expected.back() != '\n') expected += '\n';
  FUZZ_CHECK(kh.format() == expected, "the text was not written back as it was");
  check_lookups(kh);

  // A server and a fingerprint from the input's last bytes; a CA now and then.
  if (size < 4) return 0;
  const uint8_t* tail = bytes + size - 4;
  static const char* const kServers[] = {"pve1:8006", "pve2:8006", "[fd00::10]:8006",
                                         "192.0.2.10:8006"};
  KnownHost e;
  e.server = kServers[tail[0] % 4];
  // Also a server the input itself names, when it has entries.
  if ((tail[1] & 1) && !kh.entries().empty()) {
    e.server = kh.entries()[tail[1] % kh.entries().size()].server;
  }
  e.fingerprint.fill(tail[2]);
  // A pin is now and then marked as having declined the cluster CA.
  e.cluster_ca_declined = (tail[3] & 2) != 0;
  if (tail[3] & 1) {
    e.cluster_ca_declined = false;  // only a pin carries the mark
    e.kind = TrustKind::ca;
    e.ca_der.assign(bytes, bytes + std::min<size_t>(size, 512));
    if (e.ca_der.empty()) e.ca_der.push_back(0);
    e.fingerprint = sha256_fingerprint(e.ca_der);
  }
  auto others = entries_per_server(kh);
  others.erase(e.server);
  kh.set(e);
  auto set_found = kh.find(e.server);
  FUZZ_CHECK(set_found.ok() && *set_found && same(**set_found, e), "set() then find() lost it");
  KnownHosts reread = KnownHosts::parse(kh.format());
  auto found = reread.find(e.server);
  FUZZ_CHECK(found.ok() && *found && same(**found, e), "the written file lost the entry");
  auto after = entries_per_server(reread);
  FUZZ_CHECK(after[e.server] == 1, "duplicates of the server survived set()");
  after.erase(e.server);
  FUZZ_CHECK(after == others, "set() changed other servers' entries");
  check_lookups(reread);
  return 0;
}
