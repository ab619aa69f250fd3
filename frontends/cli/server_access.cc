#include "frontends/cli/server_access.h"

#include "engine/core/platform.h"
#include "transports/http/connect_proxy.h"
#include "transports/tcp/tcp_transport.h"
#include "transports/tls/tls_transport.h"

namespace pvb {
namespace {

// --fingerprint, --ca-file or --insecure: one context for every host, nothing remembered.
Result<std::shared_ptr<TlsContext>> fixed_tls(const CliOptions& o, Output& out) {
  TlsClientConfig cfg;
  cfg.backend = o.tls_backend;
  if (!o.fingerprints.empty()) {
    cfg.verify = TlsVerify::pinned;
    for (const auto& f : o.fingerprints) {
      auto fp = parse_fingerprint(f);
      if (!fp.ok()) return Error(Errc::usage, "--fingerprint: " + fp.error().message());
      cfg.pins.push_back(*fp);
    }
  } else if (!o.ca_file.empty()) {
    cfg.verify = TlsVerify::ca_file;
    cfg.ca_file = o.ca_file;
  } else {
    cfg.verify = TlsVerify::insecure;
    out.warning(
        "--insecure: the server certificate is not verified; whoever sits between you "
        "and the server can read your credentials and the console");
  }
  auto ctx = TlsContext::create_client(cfg);
  if (!ctx.ok()) {
    Error e = ctx.error();
    if (e.code() != Errc::usage) e = Error(Errc::usage, "TLS setup: " + e.message());
    return e;
  }
  return *ctx;
}

}  // namespace

ServerAccess::ServerAccess(const CliOptions& o, Output& out)
    : out_(out),
      backend_(o.tls_backend),
      hosts_(o.hosts),
      proxy_(o.proxy),
      timeout_ms_(o.timeout_s * 1000) {}

Result<std::unique_ptr<ServerAccess>> ServerAccess::create(const CliOptions& o, Output& out) {
  std::unique_ptr<ServerAccess> a(new ServerAccess(o, out));
  if (!o.fingerprints.empty() || !o.ca_file.empty() || o.insecure) {
    auto tls = fixed_tls(o, out);
    if (!tls.ok()) return tls.error();
    a->fixed_ = *tls;
  } else {
    HostTrustOptions options;
    const std::string dir = user_data_dir("pvebridge");
    if (!dir.empty()) options.known_hosts_path = dir + "/known_hosts";
    // Asked only where someone can answer: a terminal, and not --json (a program reads that).
    TrustPrompt prompt;
    if (stdin_is_terminal() && !o.json) {
      prompt = [](const std::string& question) { return prompt_line(question); };
    }
    auto trust = HostTrust::open(std::move(options), std::move(prompt));
    if (!trust.ok()) return trust.error();
    if (Error e = (*trust)->prepare(o.hosts); e.failed()) {
      if (e.code() != Errc::usage) e = Error(Errc::usage, "TLS setup: " + e.message());
      return e;
    }
    a->trust_ = std::move(*trust);
    // Every host's context now, so an unusable entry fails the command before any connection.
    for (const ApiHost& h : o.hosts) {
      if (a->tls_for(h) == nullptr) {
        return Error(Errc::usage, "TLS setup for " + h.authority() + " failed");
      }
    }
  }
  if (o.proxy.url) {
    std::string direct;
    for (const ApiHost& h : o.hosts) {
      if (!o.proxy.for_host(h.host)) direct += (direct.empty() ? "" : ", ") + h.authority();
    }
    out.verbose(0, "HTTP proxy " + o.proxy.url->authority() + " (from " + o.proxy.source + ")" +
                       (direct.empty() ? "" : "; no_proxy: direct to " + direct));
  }
  return a;
}

std::shared_ptr<TlsContext> ServerAccess::tls_for(const ApiHost& host) {
  if (fixed_) return fixed_;
  std::shared_ptr<const TlsTrust> trust = trust_->trust(host);
  if (!trust) return nullptr;
  HostContext& c = contexts_[host.authority()];
  if (c.trust != trust) {
    TlsClientConfig cfg;
    static_cast<TlsTrust&>(cfg) = *trust;
    cfg.backend = backend_;
    auto ctx = TlsContext::create_client(cfg);
    if (!ctx.ok()) {
      out_.warning("TLS setup for " + host.authority() + ": " + ctx.error().message());
      return nullptr;
    }
    c = HostContext{trust, *ctx};
  }
  return c.context;
}

HostConnector ServerAccess::stream_connector(Loop& loop) {
  return [this, &loop](const ApiHost& h) -> std::unique_ptr<Transport> {
    if (const ProxyUrl* proxy = proxy_.for_host(h.host)) {
      auto tcp = TcpTransport::connect(
          loop, TcpConnectOptions{proxy->host, proxy->port, timeout_ms_, kStreamKeepalive});
      ConnectProxyOptions tunnel;
      tunnel.target = h.authority();
      tunnel.proxy_name = proxy->authority();
      if (proxy->has_credentials()) tunnel.proxy_authorization = proxy->basic_authorization();
      tunnel.answer_timeout_ms = timeout_ms_;
      return std::make_unique<ConnectProxyTransport>(std::move(tcp), std::move(tunnel));
    }
    return TcpTransport::connect(loop,
                                 TcpConnectOptions{h.host, h.port, timeout_ms_, kStreamKeepalive});
  };
}

HostConnector ServerAccess::connector(Loop& loop) {
  return [this, &loop](const ApiHost& h) -> std::unique_ptr<Transport> {
    std::unique_ptr<Transport> lower;
    if (const ProxyUrl* proxy = proxy_.for_host(h.host)) {
      auto tcp =
          TcpTransport::connect(loop, TcpConnectOptions{proxy->host, proxy->port, timeout_ms_});
      ConnectProxyOptions tunnel;
      tunnel.target = h.authority();
      tunnel.proxy_name = proxy->authority();
      if (proxy->has_credentials()) tunnel.proxy_authorization = proxy->basic_authorization();
      tunnel.answer_timeout_ms = timeout_ms_;
      lower = std::make_unique<ConnectProxyTransport>(std::move(tcp), std::move(tunnel));
    } else {
      lower = TcpTransport::connect(loop, TcpConnectOptions{h.host, h.port, timeout_ms_});
    }
    std::shared_ptr<TlsContext> tls = tls_for(h);
    if (!tls) return nullptr;
    return std::make_unique<TlsTransport>(std::move(lower), std::move(tls), h.host);
  };
}

void ServerAccess::connect(Loop& loop, ProxmoxClient& client, std::function<void(Error)> done) {
  client.connect([this, &loop, &client, done](Error e) {
    if (!trust_ || e.code() != Errc::tls_verify) return done(std::move(e));
    // Not from inside the client's callback: the question blocks, and connecting again replaces
    // the REST client that is calling us.
    loop.post([this, &loop, &client, done, e, host = client.host()] {
      Error resolved = trust_->resolve_refusal(host, e, hosts_);
      if (resolved.failed()) return done(resolved);
      out_.warning("permanently added " + host.authority() + " to the trusted servers in " +
                   trust_->path());
      connect(loop, client, done);
    });
  });
}

void ServerAccess::offer_cluster_ca(const ApiHost& host, const std::string& ca_pem,
                                    const Transport& server) {
  if (!trust_) return;
  // connector() made this transport: TLS, verified with the host's context, whose chain tells
  // whether the CA vouches for the pinned certificate.
  const auto* tls = dynamic_cast<const TlsTransport*>(&server);
  if (tls == nullptr) return;
  ClusterCaOffer r = trust_->offer_cluster_ca(host, ca_pem, tls->peer_chain_der(), hosts_);
  const std::string ca = r.ca ? "the cluster CA " + r.ca->subject + " (SHA-256 " +
                                    format_fingerprint(r.ca->fingerprint) + ")"
                              : std::string("the cluster CA");
  switch (r.outcome) {
    case ClusterCaOffer::Outcome::not_applicable:
      return;
    case ClusterCaOffer::Outcome::not_offered:
      out_.verbose(0, "not offering the cluster CA from " + host.authority() +
                          "'s console reply: " + r.detail);
      return;
    case ClusterCaOffer::Outcome::not_asked:
      out_.verbose(0, ca + " vouches for the pinned certificate of " + host.authority() +
                          (r.detail.empty() ? "" : " (" + r.detail + ")") +
                          "; run on a terminal without --json to be asked to trust it instead");
      return;
    case ClusterCaOffer::Outcome::declined:
      if (!r.detail.empty()) {
        out_.warning("could not remember the answer for " + host.authority() + ": " + r.detail);
      } else {
        out_.warning("keeping the pinned certificate of " + host.authority() +
                     "; not asking again (delete 'cluster-ca=declined' from its line in " +
                     trust_->path() + " to be asked)");
      }
      return;
    case ClusterCaOffer::Outcome::trusted:
      out_.warning("now trusting " + ca + " for " + r.detail + " in " + trust_->path() +
                   " instead of the pinned certificate");
      return;
    case ClusterCaOffer::Outcome::failed:
      out_.warning("could not trust " + ca + " for " + host.authority() + ": " + r.detail +
                   "; keeping the pinned certificate");
      return;
  }
}

}  // namespace pvb
