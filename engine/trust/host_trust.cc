#include "engine/trust/host_trust.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "engine/core/platform.h"
#include "engine/core/text.h"
#include "engine/io/server_certificate.h"

namespace pvb {
namespace {

// known_hosts is small; anything this large is not ours.
constexpr size_t kMaxFileBytes = 4 * 1024 * 1024;

std::string key_of(const ApiHost& h) {
  return known_host_key(h.host, h.port);
}

Result<KnownHosts> read_known_hosts(const std::string& path) {
  if (path.empty()) return KnownHosts();
  const int mode = file_mode(path);
  if (mode < 0) return KnownHosts();  // not there yet
  if (mode & 022) {
    return Error(Errc::usage, "known_hosts " + path +
                                  " may be written by other users (who could add servers); run: "
                                  "chmod 600 " +
                                  path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Errc::usage, "cannot read known_hosts " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error(Errc::usage, "cannot read known_hosts " + path);
  if (text.str().size() > kMaxFileBytes) {
    return Error(Errc::usage, "known_hosts " + path + " is too large to be ours");
  }
  return KnownHosts::parse(text.str());
}

// "CN=localhost, issued by CN=mock CA, valid 2024-05-01 to 2025-05-01"
std::string one_line(const CertSummary& s) {
  return s.subject + ", issued by " + s.issuer + ", valid " + s.not_before + " to " + s.not_after;
}

enum class Answer { certificate, ca, no, unclear };

Answer parse_answer(std::string_view text, const Sha256Fingerprint& leaf,
                    const std::optional<Sha256Fingerprint>& ca) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::string word(text);
  for (char& c : word) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (word.empty() || word == "n" || word == "no") return Answer::no;
  if (word == "y" || word == "yes") return Answer::certificate;
  if (ca && (word == "c" || word == "ca")) return Answer::ca;
  // Pasting the fingerprint one checked, as ssh allows, names the choice without doubt.
  if (auto fp = parse_fingerprint(text); fp.ok()) {
    if (*fp == leaf) return Answer::certificate;
    if (ca && *fp == *ca) return Answer::ca;
  }
  return Answer::unclear;
}

}  // namespace

std::optional<size_t> offerable_ca(const std::vector<std::vector<uint8_t>>& chain,
                                   std::string_view host_name) {
  for (size_t i = chain.size(); i-- > 1;) {
    auto s = summarize_certificate(chain[i]);
    // Only a self-issued root: the OpenSSL backend does not accept an intermediate as an anchor.
    if (!s.ok() || !s->is_ca || !s->self_issued) continue;
    if (verify_chain_with_ca(chain, chain[i], host_name).ok()) return i;
  }
  return std::nullopt;
}

std::string first_contact_question(const FirstContact& c) {
  std::string q = "The authenticity of " + c.server +
                  " cannot be established: its certificate is not signed by a CA this system "
                  "trusts (" +
                  c.reason + ").\n";
  auto describe = [&](const char* title, const std::vector<uint8_t>& der) {
    auto s = summarize_certificate(der);
    if (!s.ok()) return;
    q += std::string("  ") + title + s->subject + "\n";
    if (!s->self_issued) q += "    issued by   " + s->issuer + "\n";
    q += "    valid       " + s->not_before + " to " + s->not_after + "\n";
    q += "    SHA-256     " + format_fingerprint(s->fingerprint) + "\n";
  };
  if (!c.chain.empty()) describe("certificate   ", c.chain.front());
  if (c.ca_index) describe("signed by CA  ", c.chain[*c.ca_index]);
  q +=
      "Compare a fingerprint with the node's own (web interface: Node > System > Certificates, or\n"
      "`pvenode cert info` on the node) before you trust it.\n";
  q += "  yes  trust this certificate for " + c.server + "\n";
  if (c.ca_index) {
    std::string where;
    for (const auto& s : c.ca_servers) where += (where.empty() ? "" : ", ") + s;
    q += "  ca   trust the CA for " + where +
         ": node certificate renewals and the other nodes keep working\n";
  } else {
    q +=
        "  (The server sent no CA with its certificate, as pveproxy does, so only the certificate\n"
        "  can be trusted here. Its cluster's CA is offered once a console's reply names it.)\n";
  }
  q += "  no   do not connect (default)\n";
  q += c.ca_index ? "Trust it? [yes/ca/no]: " : "Trust it? [yes/no]: ";
  return q;
}

Result<std::vector<uint8_t>> cluster_ca_for_pin(std::string_view ca_pem,
                                                const std::vector<std::vector<uint8_t>>& peer_chain,
                                                const Sha256Fingerprint& pinned,
                                                std::string_view host_name) {
  if (peer_chain.empty() || sha256_fingerprint(peer_chain.front()) != pinned) {
    return Error(Errc::tls_verify, "the connection's certificate is not the pinned one");
  }
  auto certificates = certificates_from_pem(ca_pem);
  if (!certificates.ok()) {
    return Error(Errc::tls_verify,
                 "its `cert` is not a PEM certificate: " + certificates.error().message());
  }
  Error why(Errc::tls_verify, "its `cert` holds no CA certificate");
  for (const std::vector<uint8_t>& der : *certificates) {
    auto s = summarize_certificate(der);
    if (!s.ok()) continue;
    // A self-issued root, as pve-root-ca is: the only kind every backend takes as the one anchor.
    if (!s->is_ca || !s->self_issued) {
      why = Error(Errc::tls_verify, "its `cert` (" + s->subject + ") is not a self-issued CA");
      continue;
    }
    Error verified = verify_chain_with_ca(peer_chain, der, host_name);
    if (verified.ok()) return der;
    why = Error(Errc::tls_verify, "the pinned certificate does not verify with its `cert` (" +
                                      s->subject + "): " + verified.message());
  }
  return why;
}

std::string cluster_ca_question(const ClusterCaQuestion& c) {
  std::string q = c.server + " is trusted by its pinned certificate (SHA-256 " +
                  format_fingerprint(c.pinned) +
                  ").\nThe console's reply named the cluster CA, which signed that certificate:\n";
  if (auto s = summarize_certificate(c.ca_der); s.ok()) {
    q += "  cluster CA    " + s->subject + "\n";
    q += "    valid       " + s->not_before + " to " + s->not_after + "\n";
    q += "    SHA-256     " + format_fingerprint(s->fingerprint) + "\n";
  }
  q += "Trusting the CA instead of the one certificate keeps " + c.server +
       " trusted when the node's\ncertificate is renewed";
  if (c.ca_servers.size() > 1) {
    std::string others;
    for (size_t i = 1; i < c.ca_servers.size(); ++i) {
      others += (others.empty() ? "" : ", ") + c.ca_servers[i];
    }
    q += ", and trusts the other nodes of this command that have no entry yet (" + others + ")";
  }
  q += ". (It is on every node: /etc/pve/pve-root-ca.pem.) This is asked once.\n";
  q += "  yes  trust the cluster CA for " + c.server + "\n";
  q += "  no   keep the pinned certificate and do not ask again (default)\n";
  q += "Trust the cluster CA? [yes/no]: ";
  return q;
}

HostTrust::HostTrust(HostTrustOptions options, TrustPrompt prompt, KnownHosts known)
    : options_(std::move(options)),
      prompt_(std::move(prompt)),
      known_(std::move(known)),
      rejections_(std::make_shared<std::map<std::string, TlsRejection>>()) {}

Result<std::unique_ptr<HostTrust>> HostTrust::open(HostTrustOptions options, TrustPrompt prompt) {
  auto known = read_known_hosts(options.known_hosts_path);
  if (!known.ok()) return known.error();
  return std::unique_ptr<HostTrust>(
      new HostTrust(std::move(options), std::move(prompt), std::move(*known)));
}

std::shared_ptr<const TlsTrust> HostTrust::make_trust(const std::string& key,
                                                      const KnownHost* entry) {
  TlsTrust cfg = options_.base;
  cfg.pins.clear();
  cfg.ca_file.clear();
  cfg.ca_pem.clear();
  if (entry == nullptr) {
    cfg.verify = TlsVerify::system_ca;
  } else if (entry->kind == TrustKind::certificate) {
    cfg.verify = TlsVerify::pinned;
    cfg.pins = {entry->fingerprint};
  } else {
    cfg.verify = TlsVerify::ca_file;
    cfg.ca_pem = certificate_pem(entry->ca_der);
  }
  // A weak reference: the trust may outlive us inside connections being torn down.
  std::weak_ptr<std::map<std::string, TlsRejection>> log = rejections_;
  cfg.on_rejected = [log, key](const TlsRejection& r) {
    if (auto l = log.lock()) (*l)[key] = r;
  };
  return std::make_shared<const TlsTrust>(std::move(cfg));
}

Error HostTrust::prepare(const std::vector<ApiHost>& hosts) {
  for (const ApiHost& h : hosts) {
    const std::string key = key_of(h);
    if (trusts_.count(key)) continue;
    auto entry = known_.find(key);
    if (!entry.ok())
      return Error(Errc::usage, "known_hosts " + path() + ": " + entry.error().message());
    hosts_[key] = h;
    trusts_[key] = make_trust(key, *entry);
  }
  return Error();
}

std::shared_ptr<const TlsTrust> HostTrust::trust(const ApiHost& host) const {
  auto it = trusts_.find(key_of(host));
  return it == trusts_.end() ? nullptr : it->second;
}

Error HostTrust::resolve_refusal(const ApiHost& host, const Error& error,
                                 const std::vector<ApiHost>& cluster) {
  if (error.code() != Errc::tls_verify) return error;
  const std::string key = key_of(host);
  auto it = rejections_->find(key);
  if (it == rejections_->end()) return error;
  TlsRejection rejection = std::move(it->second);
  rejections_->erase(it);
  if (rejection.chain_der.empty()) return error;
  auto entry = known_.find(key);
  if (!entry.ok())
    return Error(Errc::usage, "known_hosts " + path() + ": " + entry.error().message());
  if (*entry != nullptr) return changed(key, **entry, rejection);
  if (asked_.count(key)) return error;
  return first_contact(host, rejection, cluster);
}

Error HostTrust::changed(const std::string& key, const KnownHost& entry,
                         const TlsRejection& r) const {
  auto leaf = summarize_certificate(r.chain_der.front());
  const std::string presented =
      leaf.ok() ? "SHA-256 " + format_fingerprint(leaf->fingerprint) + " (" + one_line(*leaf) + ")"
                : "an unreadable certificate";
  const std::string where = path() + " line " + std::to_string(entry.line);
  const std::string fix = "delete that line (sed -i '" + std::to_string(entry.line) + "d' '" +
                          path() + "') and connect again";
  if (entry.kind == TrustKind::certificate) {
    return Error(Errc::tls_verify,
                 "WARNING: the certificate of " + key + " has CHANGED: " + where +
                     " trusts SHA-256 " + format_fingerprint(entry.fingerprint) +
                     ", the server presents " + presented +
                     ". Someone may be intercepting the connection, or the node's certificate was "
                     "renewed. If you expected the change, compare the new fingerprint with the "
                     "node's (pvenode cert info), then " +
                     fix);
  }
  return Error(Errc::tls_verify,
               "WARNING: the certificate of " + key + " does not verify with the CA that " + where +
                   " trusts for it (CA SHA-256 " + format_fingerprint(entry.fingerprint) +
                   "): " + r.reason.message() + ". The server presents " + presented +
                   ". Someone may be intercepting the connection, or the cluster's CA changed. If "
                   "you expected the change, " +
                   fix);
}

Error HostTrust::first_contact(const ApiHost& host, const TlsRejection& r,
                               const std::vector<ApiHost>& cluster) {
  const std::string key = key_of(host);
  auto leaf = summarize_certificate(r.chain_der.front());
  if (!leaf.ok()) return r.reason;
  FirstContact c;
  c.server = key;
  c.chain = r.chain_der;
  c.reason = r.reason.message();
  c.ca_index = offerable_ca(c.chain, host.host);
  c.ca_servers = ca_servers(key, cluster);
  const std::string fp = format_fingerprint(leaf->fingerprint);
  const Error not_trusted(
      Errc::tls_verify,
      key + " is not a trusted server: " + c.reason + "; it is not in " +
          (path().empty() ? std::string("known_hosts") : path()) +
          ". Its certificate has SHA-256 " + fp + " (" + one_line(*leaf) +
          "); if that is the node's (pvenode cert info), trust it with --fingerprint " + fp +
          " (or PVE_FINGERPRINT), or run pvebridge on a terminal without --json to be asked");
  if (!prompt_) return not_trusted;

  std::optional<Sha256Fingerprint> ca_fp;
  if (c.ca_index) ca_fp = sha256_fingerprint(c.chain[*c.ca_index]);
  asked_.insert(key);
  Answer answer = Answer::unclear;
  std::string question = first_contact_question(c);
  for (int attempt = 0; attempt < 3 && answer == Answer::unclear; ++attempt) {
    auto line = prompt_(question);
    if (!line.ok()) return not_trusted;
    answer = parse_answer(*line, leaf->fingerprint, ca_fp);
    question = c.ca_index ? "Please answer yes, ca or no (or paste a fingerprint): "
                          : "Please answer yes or no (or paste the fingerprint): ";
  }
  if (answer == Answer::no || answer == Answer::unclear) {
    return Error(Errc::tls_verify, key + " was not trusted (SHA-256 " + fp + "): not connecting");
  }
  std::vector<KnownHost> entries;
  if (answer == Answer::certificate) {
    KnownHost e;
    e.server = key;
    e.kind = TrustKind::certificate;
    e.fingerprint = leaf->fingerprint;
    // `yes` when `ca` was offered too declines the CA: the cluster CA question (the same CA,
    // named again by the console's reply) is not asked, now or on later runs.
    e.cluster_ca_declined = c.ca_index.has_value();
    entries.push_back(std::move(e));
  } else {
    for (const std::string& server : c.ca_servers) {
      KnownHost e;
      e.server = server;
      e.kind = TrustKind::ca;
      e.fingerprint = *ca_fp;
      e.ca_der = c.chain[*c.ca_index];
      entries.push_back(std::move(e));
    }
  }
  if (Error e = save(entries); e.failed()) {
    return Error(e.code(), "cannot remember " + key + ": " + e.message() +
                               "; to trust it without saving, use --fingerprint " + fp);
  }
  refresh_trusts(entries);
  if (c.ca_index) ca_asked_.insert(key);
  return Error();
}

std::vector<std::string> HostTrust::ca_servers(const std::string& key,
                                               const std::vector<ApiHost>& cluster) const {
  std::vector<std::string> servers = {key};
  for (const ApiHost& other : cluster) {
    const std::string k = key_of(other);
    auto e = known_.find(k);
    if (e.ok() && *e == nullptr && std::find(servers.begin(), servers.end(), k) == servers.end()) {
      servers.push_back(k);
    }
  }
  return servers;
}

void HostTrust::refresh_trusts(const std::vector<KnownHost>& entries) {
  // Connections from now on use the new entries.
  for (const KnownHost& e : entries) {
    auto it = hosts_.find(e.server);
    if (it == hosts_.end()) continue;
    auto found = known_.find(e.server);
    if (!found.ok() || *found == nullptr) continue;
    trusts_[e.server] = make_trust(e.server, *found);
  }
}

Error HostTrust::save(const std::vector<KnownHost>& entries, const KnownHost* expected) {
  if (path().empty()) {
    return Error(Errc::usage, "no place for known_hosts: neither XDG_DATA_HOME nor HOME is set");
  }
  // Read again right before writing: another pvebridge may have added a server meanwhile.
  auto current = read_known_hosts(path());
  if (!current.ok()) return current.error();
  if (expected != nullptr) {
    auto now = current->find(expected->server);
    if (!now.ok() || *now == nullptr || (*now)->kind != expected->kind ||
        (*now)->fingerprint != expected->fingerprint) {
      return Error(Errc::usage, "the entry for " + expected->server + " in " + path() +
                                    " changed while we asked; left as it is");
    }
  }
  for (const KnownHost& e : entries) current->set(e);
  if (Error e = replace_private_file(path(), current->format()); e.failed()) return e;
  known_ = std::move(*current);
  return Error();
}

ClusterCaOffer HostTrust::offer_cluster_ca(const ApiHost& host, std::string_view ca_pem,
                                           const std::vector<std::vector<uint8_t>>& peer_chain,
                                           const std::vector<ApiHost>& cluster) {
  ClusterCaOffer result;
  const std::string key = key_of(host);
  auto found = known_.find(key);
  // Only a pinned certificate is replaced: a CA entry needs nothing, and an unknown host was
  // trusted by the system CAs (or was not prepared at all).
  if (!found.ok() || *found == nullptr || (*found)->kind != TrustKind::certificate) return result;
  const KnownHost pin = **found;
  if (pin.cluster_ca_declined || ca_asked_.count(key) || ca_pem.empty()) return result;

  auto ca = cluster_ca_for_pin(ca_pem, peer_chain, pin.fingerprint, host.host);
  if (!ca.ok()) {
    ca_asked_.insert(key);  // the next console of this host brings the same CA
    result.outcome = ClusterCaOffer::Outcome::not_offered;
    result.detail = ca.error().message();
    return result;
  }
  auto summary = summarize_certificate(*ca);
  if (summary.ok()) result.ca = *summary;
  if (!prompt_) {
    result.outcome = ClusterCaOffer::Outcome::not_asked;
    return result;
  }
  ca_asked_.insert(key);
  const Sha256Fingerprint ca_fp = sha256_fingerprint(*ca);
  ClusterCaQuestion c{key, pin.fingerprint, *ca, ca_servers(key, cluster)};
  // The one choice is yes: parse_answer's "certificate" answer, given the CA's fingerprint as the
  // one that may be pasted, and no `ca` choice.
  Answer answer = Answer::unclear;
  std::string question = cluster_ca_question(c);
  for (int attempt = 0; attempt < 3 && answer == Answer::unclear; ++attempt) {
    auto line = prompt_(question);
    if (!line.ok()) {
      result.outcome = ClusterCaOffer::Outcome::not_asked;
      return result;
    }
    answer = parse_answer(*line, ca_fp, std::nullopt);
    question = "Please answer yes or no (or paste the CA's fingerprint): ";
  }
  if (answer == Answer::unclear) {
    result.outcome = ClusterCaOffer::Outcome::not_asked;
    result.detail = "no clear answer";
    return result;
  }
  if (answer == Answer::no) {
    KnownHost declined = pin;
    declined.cluster_ca_declined = true;
    result.outcome = ClusterCaOffer::Outcome::declined;
    if (Error e = save({declined}, &pin); e.failed()) result.detail = e.message();
    return result;
  }
  std::vector<KnownHost> entries;
  for (const std::string& server : c.ca_servers) {
    KnownHost e;
    e.server = server;
    e.kind = TrustKind::ca;
    e.fingerprint = ca_fp;
    e.ca_der = *ca;
    entries.push_back(std::move(e));
  }
  if (Error e = save(entries, &pin); e.failed()) {
    result.outcome = ClusterCaOffer::Outcome::failed;
    result.detail = e.message();
    return result;
  }
  refresh_trusts(entries);
  result.outcome = ClusterCaOffer::Outcome::trusted;
  for (const std::string& server : c.ca_servers) {
    result.detail += (result.detail.empty() ? "" : ", ") + server;
  }
  return result;
}

}  // namespace pvb
