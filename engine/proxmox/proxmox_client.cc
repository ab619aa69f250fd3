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

Error error_from_status(const RestResponse& r, std::string_view what, Errc forbidden) {
  std::string msg = std::string(what) + ": " + std::to_string(r.status) + " " + r.reason;
  if (r.status == 401) return Error(Errc::auth, msg);
  if (r.status == 403) return Error(forbidden, msg);
  if (r.reason.find("not running") != std::string::npos) return Error(Errc::not_running, msg);
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
  if (credentials_.token) {
    // Tokens need no login: one cheap call proves the host answers and the token is valid.
    request("GET", "/version", std::nullopt, [this, answered](Result<RestResponse> r) {
      if (!r.ok()) return answered(r.error());
      if (!r->ok()) {
        return answered(error_from_status(*r, "API token check (GET /version)", Errc::auth));
      }
      auto v = decode_version(r->body);
      if (!v.ok()) return answered(v.error());
      log("authenticated with API token on " + host().authority() + " (Proxmox VE " + *v + ")");
      answered(Error());
    });
  } else {
    login(answered);
  }
}

void ProxmoxClient::login(std::function<void(Error)> done) {
  FormFields form = {{"username", credentials_.user}, {"password", credentials_.password}};
  request("POST", "/access/ticket", std::move(form), [this, done](Result<RestResponse> r) {
    if (!r.ok()) return done(r.error());
    if (r->status == 401) {
      return done(
          Error(Errc::auth, "login as " + credentials_.user +
                                " failed: authentication failure (wrong user or password)"));
    }
    if (!r->ok()) return done(error_from_status(*r, "login", Errc::auth));
    auto reply = decode_login(r->body);
    if (!reply.ok()) return done(reply.error());
    if (!reply->need_tfa) {
      ticket_ = std::move(reply->ticket);
      csrf_ = std::move(reply->csrf_token);
      log("logged in as " + credentials_.user + " on " + host().authority());
      return done(Error());
    }
    // Two-factor: answer the challenge ticket with a TOTP code.
    std::string otp = credentials_.otp;
    if (otp.empty() && options_.otp_prompt) {
      auto code = options_.otp_prompt();
      if (!code.ok()) return done(code.error());
      otp = *code;
    }
    if (otp.empty()) {
      return done(Error(Errc::auth, "two-factor authentication required for " + credentials_.user +
                                        ": give --otp CODE or PVE_OTP"));
    }
    log("two-factor authentication requested; sending the TOTP code");
    FormFields tfa = {{"username", credentials_.user},
                      {"tfa-challenge", reply->ticket},
                      {"password", "totp:" + otp}};
    request("POST", "/access/ticket", std::move(tfa), [this, done](Result<RestResponse> r2) {
      if (!r2.ok()) return done(r2.error());
      if (r2->status == 401) {
        return done(Error(Errc::auth, "two-factor authentication failed for " + credentials_.user +
                                          ": the code was rejected"));
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
  });
}

void ProxmoxClient::list_guests(std::function<void(Result<std::vector<Guest>>)> done) {
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

void ProxmoxClient::vncproxy(const Guest& g, std::function<void(Result<VncTicket>)> done) {
  FormFields form = {{"websocket", "1"}};
  // lxc refuses generate-password with a 400; qemu then returns a separate VNC password.
  if (g.type == GuestType::qemu) form.emplace_back("generate-password", "1");
  log("vncproxy for " + g.display_name() + " on " + g.node);
  request("POST", g.api_path() + "/vncproxy", std::move(form), [g, done](Result<RestResponse> r) {
    if (!r.ok()) return done(r.error());
    if (!r->ok()) {
      Error e = error_from_status(*r, "console for " + g.display_name(), Errc::console_refused);
      if (e.code() == Errc::http) e = Error(Errc::console_refused, e.detail());
      return done(e);
    }
    done(decode_vncproxy(r->body));
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
