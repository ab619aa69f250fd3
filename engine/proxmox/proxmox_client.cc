#include "engine/proxmox/proxmox_client.h"

#include "engine/core/platform.h"
#include "engine/core/url.h"

namespace pvb {

namespace {
constexpr const char* kApiPrefix = "/api2/json";

bool is_network_failure(Errc c) {
  return c == Errc::dns || c == Errc::connect || c == Errc::timeout || c == Errc::connection_lost;
}
}  // namespace

bool reason_says_not_running(std::string_view reason) {
  return reason.find("not running") != std::string_view::npos;
}

Error error_from_status(const RestResponse& r, std::string_view what, Errc forbidden) {
  std::string msg = std::string(what) + ": " + std::to_string(r.status) + " " + r.reason;
  if (r.status == 401) return Error(Errc::auth, msg);
  if (r.status == 403) return Error(forbidden, msg);
  if (reason_says_not_running(r.reason)) return Error(Errc::not_running, msg);
  return Error(Errc::http, msg);
}

ProxmoxClient::ProxmoxClient(Loop& loop, std::vector<ApiHost> hosts, Dialer& dialer,
                             Credentials credentials, ProxmoxClientOptions options)
    : loop_(loop),
      hosts_(std::move(hosts)),
      dialer_(dialer),
      credentials_(std::move(credentials)),
      options_(std::move(options)) {}

ProxmoxClient::~ProxmoxClient() {
  wipe(credentials_.password);
  wipe(ticket_);
  wipe(csrf_);
}

void ProxmoxClient::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

std::unique_ptr<HttpExchange> ProxmoxClient::make_rest(size_t host_index) {
  auto rest = dialer_.open_http(hosts_[host_index]);
  if (options_.log) rest->set_logger(options_.log);
  return rest;
}

HttpHeaders ProxmoxClient::auth_headers() const {
  HttpHeaders h;
  if (credentials_.token) {
    h.add("Authorization", credentials_.token->header_value());
  } else if (!ticket_.empty()) {
    h.add("Cookie", "PVEAuthCookie=" + url_encode(ticket_));
  }
  return h;
}

void ProxmoxClient::request(std::string method, std::string path, std::optional<FormFields> form,
                            std::function<void(Result<RestResponse>)> done, FormFields query) {
  RestRequest req;
  req.method = std::move(method);
  req.path = kApiPrefix + path;
  req.query = std::move(query);
  req.form = std::move(form);
  req.timeout_ms = options_.timeout_ms;
  req.headers = auth_headers();
  if (!credentials_.token && !csrf_.empty() && req.method != "GET") {
    req.headers.add("CSRFPreventionToken", csrf_);
  }
  auto weak = alive_.weak();
  rest_->request(std::move(req), [weak, done = std::move(done)](Result<RestResponse> r) {
    if (weak.expired()) return;
    done(std::move(r));
  });
}

void ProxmoxClient::connect(std::function<void(Error)> done) {
  if (hosts_.empty()) {
    done(Error(Errc::usage, "no Proxmox host configured"));
    return;
  }
  try_host(0, std::move(done), "");
}

void ProxmoxClient::try_host(size_t index, std::function<void(Error)> done, std::string failures) {
  active_ = index;
  rest_ = make_rest(index);
  log("connecting to " + hosts_[index].authority());
  auto answered = [this, index, done, failures](Error e) {
    if (e.code() == Errc::not_tls) {
      // A plain-HTTP port (a web server, a proxy, pveproxy's own port given wrongly) answered the
      // TLS handshake: say what that means rather than how the handshake broke.
      e = Error(Errc::not_tls,
                hosts_[index].authority() + " speaks plain HTTP, not TLS: is it Proxmox's 8006? (" +
                    e.message() + ")",
                e.native());
    }
    if (e.ok() || !is_network_failure(e.code())) {
      done(std::move(e));
      return;
    }
    // Each failure names its host: the underlying error may not (a reset, a timeout).
    std::string all = failures.empty() ? "" : failures + "; ";
    all += hosts_[index].authority() + ": " + e.message();
    if (index + 1 < hosts_.size()) {
      log(hosts_[index].authority() + " did not answer (" + e.message() +
          "), trying the next host");
      try_host(index + 1, done, all);
      return;
    }
    done(hosts_.size() > 1 ? Error(e.code(), "no host answered: " + all, e.native()) : e);
  };
  if (credentials_.token && probe_with_guest_list_) {
    probe_token_with_guest_list(answered);
  } else if (credentials_.token) {
    // Tokens need no login: one cheap call proves the host answers and the token is valid.
    request("GET", "/version", std::nullopt, [this, answered](Result<RestResponse> r) {
      if (!r.ok()) return answered(r.error());
      if (r->status == 401) {
        // pveproxy's own words ("invalid token value!", "no such token ...") say less than this.
        const ApiToken& t = *credentials_.token;
        return answered(Error(Errc::auth, "API token " + t.user + "!" + t.token_id +
                                              " rejected (wrong secret, or the token was "
                                              "removed): GET /version answered 401 " +
                                              r->reason));
      }
      if (!r->ok()) {
        return answered(
            first_reply_error(*r, "GET /version",
                              error_from_status(*r, "API token check (GET /version)", Errc::auth)));
      }
      auto v = decode_version(r->body);
      if (!v.ok()) return answered(v.error());
      remember_version(*v);
      log("authenticated with API token on " + host().authority() + " (Proxmox VE " + *v + ")");
      answered(Error());
    });
  } else {
    login(answered);
  }
}

Error ProxmoxClient::first_reply_error(const RestResponse& r, std::string_view call,
                                       Error otherwise) const {
  // Every Proxmox VE answers these paths (with 401 when unauthenticated): a 404 is another server.
  if (r.status != 404) return otherwise;
  return Error(Errc::http, host().authority() + " is not a Proxmox VE API (" + std::string(call) +
                               ": " + std::to_string(r.status) + " " + r.reason + ")");
}

void ProxmoxClient::login(std::function<void(Error)> done) {
  FormFields form = {{"username", credentials_.user}, {"password", credentials_.password}};
  request("POST", "/access/ticket", std::move(form), [this, done](Result<RestResponse> r) {
    if (!r.ok()) return done(r.error());
    if (r->status == 401) {
      std::string why = "wrong user or password";
      if (credentials_.realm_defaulted) {
        // "alice" is alice@pam, a Linux user of the node; users made in Proxmox are @pve.
        const std::string& u = credentials_.user;
        why +=
            "; no @REALM was given, so the realm defaulted to @pam, the node's Linux users: "
            "for a Proxmox VE user give --user " +
            u.substr(0, u.rfind('@')) + "@pve";
      }
      return done(Error(Errc::auth, "login as " + credentials_.user +
                                        " failed: authentication failure (" + why + ")"));
    }
    if (!r->ok()) {
      return done(
          first_reply_error(*r, "POST /access/ticket", error_from_status(*r, "login", Errc::auth)));
    }
    auto reply = decode_login(r->body);
    if (!reply.ok()) return done(reply.error());
    if (!reply->need_tfa) {
      ticket_ = std::move(reply->ticket);
      csrf_ = std::move(reply->csrf_token);
      log("logged in as " + credentials_.user + " on " + host().authority());
      return done(Error());
    }
    log("two-factor authentication requested");
    answer_tfa(std::move(reply->ticket), 1, done);
  });
}

void ProxmoxClient::answer_tfa(std::string challenge, int attempt,
                               std::function<void(Error)> done) {
  // The code given up front is the first attempt; a terminal is asked for the others.
  std::string otp = attempt == 1 ? credentials_.otp : std::string();
  if (otp.empty() && options_.otp_prompt) {
    auto code = options_.otp_prompt(attempt);
    if (!code.ok()) return done(code.error());
    otp = *code;
  }
  if (otp.empty()) {
    return done(Error(Errc::auth, "two-factor authentication required for " + credentials_.user +
                                      ": give --otp CODE or PVE_OTP"));
  }
  log("sending the TOTP code");
  FormFields tfa = {
      {"username", credentials_.user}, {"tfa-challenge", challenge}, {"password", "totp:" + otp}};
  wipe(otp);
  request(
      "POST", "/access/ticket", std::move(tfa),
      [this, done, attempt, challenge = std::move(challenge)](Result<RestResponse> r2) mutable {
        if (!r2.ok()) return done(r2.error());
        if (r2->status == 401) {
          // The challenge stays valid for a while: a mistyped code is asked again on a terminal.
          if (options_.otp_prompt && attempt < kTotpAttempts) {
            log("the TOTP code was rejected; asking again");
            return answer_tfa(std::move(challenge), attempt + 1, done);
          }
          return done(
              Error(Errc::auth, "two-factor authentication failed for " + credentials_.user +
                                    ": the code was rejected" +
                                    (attempt > 1 ? " (" + std::to_string(attempt) + " codes tried)"
                                                 : std::string())));
        }
        if (!r2->ok()) return done(error_from_status(*r2, "two-factor login", Errc::auth));
        auto final_reply = decode_login(r2->body);
        if (!final_reply.ok()) return done(final_reply.error());
        if (final_reply->need_tfa) {
          return done(Error(Errc::auth, "two-factor authentication failed: server asked again"));
        }
        ticket_ = std::move(final_reply->ticket);
        csrf_ = std::move(final_reply->csrf_token);
        log("logged in as " + credentials_.user + " with two-factor on " + host().authority());
        done(Error());
      });
}

void ProxmoxClient::probe_token_with_guest_list(std::function<void(Error)> answered) {
  request(
      "GET", "/cluster/resources", std::nullopt,
      [this, answered](Result<RestResponse> r) {
        if (!r.ok()) return answered(r.error());
        if (r->status == 401) {
          const ApiToken& t = *credentials_.token;
          return answered(Error(Errc::auth, "API token " + t.user + "!" + t.token_id +
                                                " rejected (wrong secret, or the token was "
                                                "removed): GET /cluster/resources answered 401 " +
                                                r->reason));
        }
        if (!r->ok()) {
          return answered(first_reply_error(*r, "GET /cluster/resources",
                                            error_from_status(*r, "listing guests", Errc::auth)));
        }
        auto guests = decode_resources(r->body);
        if (!guests.ok()) return answered(guests.error());
        probed_guests_ = std::move(*guests);
        log("authenticated with API token on " + host().authority());
        answered(Error());
      },
      FormFields{{"type", "vm"}});
}

void ProxmoxClient::list_guests(std::function<void(Result<std::vector<Guest>>)> done) {
  if (probed_guests_) {
    std::vector<Guest> guests = std::move(*probed_guests_);
    probed_guests_.reset();
    return done(std::move(guests));
  }
  request(
      "GET", "/cluster/resources", std::nullopt,
      [done](Result<RestResponse> r) {
        if (!r.ok()) return done(r.error());
        if (!r->ok()) return done(error_from_status(*r, "listing guests", Errc::auth));
        done(decode_resources(r->body));
      },
      FormFields{{"type", "vm"}});
}

void ProxmoxClient::guest_status(const Guest& g, std::function<void(Result<GuestStatus>)> done) {
  request("GET", g.api_path() + "/status/current", std::nullopt, [done, g](Result<RestResponse> r) {
    if (!r.ok()) return done(r.error());
    if (!r->ok()) return done(error_from_status(*r, "status of " + g.display_name(), Errc::auth));
    done(decode_guest_status(r->body));
  });
}

void ProxmoxClient::start_guest(const Guest& g, bool resume, std::function<void(Error)> done) {
  std::string what = resume ? "resume" : "start";
  log(what + " " + g.display_name() + " on " + g.node);
  request("POST", g.api_path() + "/status/" + what, FormFields{},
          [this, g, what, done](Result<RestResponse> r) {
            if (!r.ok()) return done(r.error());
            if (!r->ok()) {
              Error e = error_from_status(*r, what + " " + g.display_name(), Errc::not_running);
              if (e.code() == Errc::http) e = Error(Errc::not_running, e.detail());
              return done(e);
            }
            auto upid = decode_upid(r->body);
            if (!upid.ok()) return done(upid.error());
            uint64_t deadline = loop_.now_ms() + options_.start_wait_ms;
            poll_task(g, *upid, deadline, done);
          });
}

void ProxmoxClient::poll_task(Guest g, std::string upid, uint64_t deadline,
                              std::function<void(Error)> done) {
  request("GET", "/nodes/" + g.node + "/tasks/" + url_encode(upid) + "/status", std::nullopt,
          [this, g, upid, deadline, done](Result<RestResponse> r) {
            if (!r.ok()) return done(r.error());
            if (!r->ok()) return done(error_from_status(*r, "task status", Errc::auth));
            auto t = decode_task_status(r->body);
            if (!t.ok()) return done(t.error());
            if (!t->running) {
              if (!t->succeeded()) {
                return done(Error(Errc::not_running,
                                  "starting " + g.display_name() + " failed: " + t->exitstatus));
              }
              return wait_running(g, deadline, done);
            }
            if (loop_.now_ms() >= deadline) {
              return done(Error(Errc::not_running,
                                "starting " + g.display_name() + ": task still running after " +
                                    std::to_string(options_.start_wait_ms / 1000) + " s"));
            }
            if (!poll_timer_) poll_timer_ = std::make_unique<Timer>(loop_);
            poll_timer_->start(options_.task_poll_ms, [this, g, upid, deadline, done] {
              poll_task(g, upid, deadline, done);
            });
          });
}

void ProxmoxClient::wait_running(Guest g, uint64_t deadline, std::function<void(Error)> done) {
  guest_status(g, [this, g, deadline, done](Result<GuestStatus> s) {
    if (!s.ok()) return done(s.error());
    if (s->status == "running" && s->qmpstatus != "paused") {
      log(g.display_name() + " is running");
      return done(Error());
    }
    if (loop_.now_ms() >= deadline) {
      return done(Error(Errc::not_running,
                        g.display_name() + " did not reach 'running' (" + s->status + ")"));
    }
    if (!poll_timer_) poll_timer_ = std::make_unique<Timer>(loop_);
    poll_timer_->start(options_.task_poll_ms,
                       [this, g, deadline, done] { wait_running(g, deadline, done); });
  });
}

void ProxmoxClient::remember_version(std::string_view text) {
  version_asked_ = true;
  version_ = parse_pve_version(text);
  if (!version_) log("cannot read the Proxmox VE version '" + std::string(text) + "'");
}

void ProxmoxClient::with_version(std::function<void()> then) {
  if (version_asked_) return then();
  request("GET", "/version", std::nullopt, [this, then](Result<RestResponse> r) {
    // Unknown is an answer too: vncproxy then sends generate-password and retries on a 400.
    if (r.ok() && r->ok()) {
      if (auto v = decode_version(r->body); v.ok()) {
        remember_version(*v);
        log("Proxmox VE " + *v + " on " + host().authority());
      }
    }
    version_asked_ = true;
    then();
  });
}

void ProxmoxClient::vncproxy(const Guest& g, std::function<void(Result<VncTicket>)> done) {
  // lxc's schema has no generate-password (a 400); it needs none.
  if (g.type != GuestType::qemu) return request_vncproxy(g, false, false, std::move(done));
  with_version([this, g, done] {
    request_vncproxy(g, vncproxy_wants_generate_password(version_), false, done);
  });
}

void ProxmoxClient::request_vncproxy(Guest g, bool generate, bool retried,
                                     std::function<void(Result<VncTicket>)> done) {
  FormFields form = {{"websocket", "1"}};
  if (generate) form.emplace_back("generate-password", "1");
  log("vncproxy for " + g.display_name() + " on " + g.node +
      (generate ? " (asking for a generated password)" : ""));
  request("POST", g.api_path() + "/vncproxy", std::move(form),
          [this, g, generate, retried, done](Result<RestResponse> r) {
            if (!r.ok()) return done(r.error());
            if (!r->ok()) {
              // Older than 6.2, or the next major: the schema refuses the parameter by name.
              if (generate && !retried && r->status == 400 &&
                  param_error_names(r->body, "generate-password")) {
                log("the server refuses generate-password; asking again without it");
                return request_vncproxy(g, false, true, done);
              }
              Error e =
                  error_from_status(*r, "console for " + g.display_name(), Errc::console_refused);
              // The status stays readable (a reconnect tells a refusal from an outage by it).
              if (e.code() == Errc::http || e.code() == Errc::console_refused) {
                e = Error(Errc::console_refused, e.detail(), r->status);
              }
              return done(e);
            }
            auto t = decode_vncproxy(r->body);
            // A server that knows generate-password but was not sent it (its qemu-server older
            // than its version suggests) gave no password: the ticket would be the password, its
            // first 8 bytes predictable. Ask once more, with it; the unused ticket expires.
            if (t.ok() && !t->password && !generate && !retried && g.type == GuestType::qemu &&
                version_ && *version_ >= PveVersion{6, 2, 0}) {
              log("the server generated no VNC password; asking again with generate-password");
              return request_vncproxy(g, true, true, done);
            }
            done(std::move(t));
          });
}

std::string TerminalTarget::display_name() const {
  return guest ? guest->display_name() : "the shell of node " + node;
}

std::string ProxmoxClient::authid() const {
  if (credentials_.token) return credentials_.token->user + "!" + credentials_.token->token_id;
  return credentials_.user;
}

void ProxmoxClient::termproxy(const TerminalTarget& target,
                              std::function<void(Result<TermTicket>)> done) {
  FormFields form;
  std::string path = "/nodes/" + url_encode(target.node) + "/termproxy";
  if (target.guest) {
    path = target.guest->api_path() + "/termproxy";
    if (target.guest->type == GuestType::qemu) {
      form.emplace_back("serial", "serial" + std::to_string(target.serial));
    }
  }
  log("termproxy for " + target.display_name() + " on " + target.node);
  std::string what = "terminal for " + target.display_name();
  request("POST", path, std::move(form), [what, done](Result<RestResponse> r) {
    if (!r.ok()) return done(r.error());
    if (!r->ok()) {
      Error e = error_from_status(*r, what, Errc::console_refused);
      if (e.code() == Errc::http) e = Error(Errc::console_refused, e.detail());
      return done(e);
    }
    done(decode_termproxy(r->body));
  });
}

void ProxmoxClient::qemu_serial_ports(const Guest& g,
                                      std::function<void(Result<std::vector<int>>)> done) {
  request("GET", g.api_path() + "/config", std::nullopt, [g, done](Result<RestResponse> r) {
    if (!r.ok()) return done(r.error());
    if (!r->ok()) return done(error_from_status(*r, "config of " + g.display_name(), Errc::auth));
    done(decode_serial_ports(r->body));
  });
}

std::string ProxmoxClient::terminal_websocket_path(const TerminalTarget& target,
                                                   const TermTicket& t) {
  std::string base = target.guest ? target.guest->api_path() : "/nodes/" + url_encode(target.node);
  return std::string(kApiPrefix) + base + "/vncwebsocket?port=" + std::to_string(t.port) +
         "&vncticket=" + url_encode(t.ticket);
}

std::string ProxmoxClient::websocket_path(const Guest& g, const VncTicket& t) {
  return std::string(kApiPrefix) + g.api_path() + "/vncwebsocket?port=" + std::to_string(t.port) +
         "&vncticket=" + url_encode(t.ticket);
}

}  // namespace pvb
