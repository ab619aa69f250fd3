// Trust on first use for the Proxmox hosts of one command, like ssh's known_hosts.
//
// A host without an entry in known_hosts is verified with the system CAs; a host with one, by its
// entry alone (one pinned certificate, or its cluster CA and the host name): entries are
// authoritative, as in ssh. When verification refuses a host, the handshake fails before a single
// byte (let alone a credential) is sent, and resolve_refusal() decides what happens next:
//  - the host has an entry: its certificate changed. A loud error names the trusted and the
//    presented fingerprints and the line to delete; never a question (that is what someone in the
//    middle would hope for).
//  - the host is unknown and we may ask (a terminal, not --json): the certificate is shown
//    (subject, issuer, validity, SHA-256) and so is the CA that signed it when the server sent it
//    and it verifies the chain for this host name. The answer is saved, and the caller connects
//    again: with the pinned certificate, or with the CA (so node certificate renewals keep working;
//    the CA is also recorded for the command's other hosts that have no entry, the other nodes).
//  - the host is unknown and we may not ask: an error with the fingerprint, for scripts to pin.
// Stock pveproxy sends only the node's certificate, not the CA: then only the certificate can be
// trusted at first contact. The cluster CA comes later, from offer_cluster_ca():
//  - a console's vncproxy reply carries `cert`, the cluster CA (pve-root-ca) in PEM. It arrives
//    over a connection verified by the host's pinned certificate, so the pin vouches for it.
//  - when the host's entry is a pinned certificate (answered `yes` just now or on an earlier run)
//    not marked `cluster-ca=declined` (as a `yes` to a first-contact question that offered `ca`
//    marks it: the user chose then), the CA is a self-issued CA certificate, it verifies that
//    connection's chain for the host name, and we may ask: the user is asked once whether to
//    trust that CA instead (so renewed node certificates keep working). Yes: the host's entry (and
//    those of the command's other hosts that have none) becomes the `ca` form that the `ca` answer
//    writes. No: the entry is marked `cluster-ca=declined` and the question is never asked again
//    for that host. Nothing is asked with --json, without a terminal, for a host trusted by CA or
//    by the system CAs, or with --fingerprint / --ca-file / --insecure (no HostTrust at all).
//  - the question comes after the console's WebSocket is open and before the viewer starts
//    (engine/console: ConsoleOptions::on_console_open): the node's 10 s wait for the WebSocket is
//    over, but the VNC password expires 30 s after the WebSocket connected, and that time runs
//    while the user reads: answer promptly (or connect again; the answer is kept). Like the
//    first-contact question, it blocks the loop: the command's other consoles wait meanwhile.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/io/api_host.h"
#include "engine/io/server_certificate.h"
#include "engine/io/tls_trust.h"
#include "engine/trust/known_hosts.h"

namespace pvb {

struct HostTrustOptions {
  std::string known_hosts_path;  // the file; its directory is made (0700) when first written
  // The system CA bundle; verify, pins, ca_pem and on_rejected are set per host.
  TlsTrust base;
};

// Shows `question` (several lines) on the terminal and returns the answer line. Null: never ask.
using TrustPrompt = std::function<Result<std::string>(const std::string& question)>;

// What offer_cluster_ca() did, for the caller to tell (or not: none of it is an error of the
// console, which goes on with the trust it has).
struct ClusterCaOffer {
  enum class Outcome {
    not_applicable,  // no pinned entry, already declined or asked, or no CA in the reply: silent
    not_offered,     // the CA does not vouch for the pinned certificate (detail: why)
    not_asked,       // it does, but nobody can be asked (no terminal, --json), or no answer came
    declined,        // the user said no; recorded (detail: a save error, if any)
    trusted,         // the CA replaced the pin (detail: the servers, comma-separated)
    failed,          // the answer was yes but could not be saved (detail: why)
  };
  Outcome outcome = Outcome::not_applicable;
  std::string detail;
  std::optional<CertSummary> ca;  // the CA that was considered
};

class HostTrust {
 public:
  // Reads known_hosts (a missing file is empty). Errc::usage when it cannot be read or group or
  // others may write it (then anyone could add a server).
  static Result<std::unique_ptr<HostTrust>> open(HostTrustOptions options, TrustPrompt prompt);

  // Derives each host's TLS trust from its entry. Errc::usage for a malformed line naming a host.
  Error prepare(const std::vector<ApiHost>& hosts);
  // The trust for connections to a prepared host (null for one that was not prepared). A new
  // object whenever the host's entry changed (so a cache of TLS contexts keyed by it renews).
  std::shared_ptr<const TlsTrust> trust(const ApiHost& host) const;

  // A connection to `host` failed with `error`. ok: the host is trusted now, connect again.
  // Otherwise the error to report (`error` itself when it was not our verification refusing).
  // `cluster`: the command's hosts (a trusted CA is recorded for those without an entry too).
  Error resolve_refusal(const ApiHost& host, const Error& error,
                        const std::vector<ApiHost>& cluster);

  // A console's vncproxy reply to `host` named `ca_pem` as the cluster CA; `peer_chain` is the
  // chain (leaf first) of a connection to that host verified with context(host). Asks at most once
  // per host, only as the comment at the top says; see ClusterCaOffer for the outcomes.
  // `cluster`: the command's hosts (a trusted CA is recorded for those without an entry too).
  ClusterCaOffer offer_cluster_ca(const ApiHost& host, std::string_view ca_pem,
                                  const std::vector<std::vector<uint8_t>>& peer_chain,
                                  const std::vector<ApiHost>& cluster);

  const std::string& path() const { return options_.known_hosts_path; }

 private:
  HostTrust(HostTrustOptions options, TrustPrompt prompt, KnownHosts known);
  std::shared_ptr<const TlsTrust> make_trust(const std::string& key, const KnownHost* entry);
  Error changed(const std::string& key, const KnownHost& entry, const TlsRejection& r) const;
  Error first_contact(const ApiHost& host, const TlsRejection& r,
                      const std::vector<ApiHost>& cluster);
  // Writes `entries` into a fresh read of the file. `expected`: refuse (Errc::usage) when that
  // server's entry in the file is no longer this one (another pvebridge changed it meanwhile).
  Error save(const std::vector<KnownHost>& entries, const KnownHost* expected = nullptr);
  void refresh_trusts(const std::vector<KnownHost>& entries);
  // The servers of `cluster` without an entry, after `key` (where a trusted CA is recorded).
  std::vector<std::string> ca_servers(const std::string& key,
                                      const std::vector<ApiHost>& cluster) const;

  HostTrustOptions options_;
  TrustPrompt prompt_;
  KnownHosts known_;
  std::map<std::string, ApiHost> hosts_;                           // by key, as prepared
  std::map<std::string, std::shared_ptr<const TlsTrust>> trusts_;  // by key
  // What verification refused, by key; filled from inside handshakes
  // (TlsTrust::on_rejected).
  std::shared_ptr<std::map<std::string, TlsRejection>> rejections_;
  std::set<std::string> asked_;     // hosts asked about during this command (never twice)
  std::set<std::string> ca_asked_;  // hosts offered their cluster CA during this command
};

// The texts, apart so tests read them without a terminal.
struct FirstContact {
  std::string server;                       // "pve1:8006"
  std::vector<std::vector<uint8_t>> chain;  // as sent, leaf first
  std::string reason;                       // why the system CAs refused it
  std::optional<size_t> ca_index;           // the CA in `chain` we may offer
  std::vector<std::string> ca_servers;      // where a trusted CA would be recorded
};
// The CA we may offer: a self-issued CA certificate in the chain (the last one first) with which
// the chain verifies for `host_name`.
std::optional<size_t> offerable_ca(const std::vector<std::vector<uint8_t>>& chain,
                                   std::string_view host_name);
std::string first_contact_question(const FirstContact& c);

// The CA in `ca_pem` that may replace the pin of `host_name`'s `pinned` certificate: a self-issued
// CA certificate with which `peer_chain` (leaf first, the leaf being the pinned one) verifies for
// `host_name`. Its DER, or Errc::tls_verify saying why there is none.
Result<std::vector<uint8_t>> cluster_ca_for_pin(std::string_view ca_pem,
                                                const std::vector<std::vector<uint8_t>>& peer_chain,
                                                const Sha256Fingerprint& pinned,
                                                std::string_view host_name);

struct ClusterCaQuestion {
  std::string server;                   // "pve1:8006"
  Sha256Fingerprint pinned{};           // the certificate trusted now
  std::vector<uint8_t> ca_der;          // the CA offered
  std::vector<std::string> ca_servers;  // where it would be recorded (server first)
};
std::string cluster_ca_question(const ClusterCaQuestion& q);

}  // namespace pvb
