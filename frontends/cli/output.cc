#include "frontends/cli/output.h"

#include <cstdio>

#include "engine/core/byte_chain.h"
#include "engine/core/json_writer.h"
#include "frontends/cli/guest_list.h"
#include "transports/tls/tls_engine.h"

namespace pvb {

void Output::emit(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

static void human_line(const std::string& line) {
  std::fprintf(stderr, "pvebridge: %s\n", line.c_str());
  std::fflush(stderr);
}

void Output::human(int session, const std::string& line) const {
  auto it = session_guests_.find(session);
  if (session_guests_.size() > 1 && it != session_guests_.end()) {
    human_line(it->second + ": " + line);
  } else {
    human_line(line);
  }
}

void Output::note(const std::string& text) {
  human_line(text);
}

void Output::name_session(int session, std::string guest) {
  session_guests_[session] = std::move(guest);
}

void Output::set_protocol(int session, std::string protocol) {
  session_protocols_[session] = std::move(protocol);
}

void Output::protocol_field(JsonWriter& w, int session) const {
  auto it = session_protocols_.find(session);
  if (it != session_protocols_.end()) w.key("protocol").value(it->second);
}

void Output::error(int session, const Error& e) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("error").key("session").value(session);
    protocol_field(w, session);
    w.key("code").value(errc_name(e.code())).key("message").value(e.message()).end_object();
    emit(w.str());
  } else {
    human(session, "error: " + e.message());
  }
}

void Output::warning(const std::string& text) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("warning").key("session").value(0);
    w.key("message").value(text).end_object();
    emit(w.str());
  } else {
    human(0, "warning: " + text);
  }
}

void Output::verbose(int session, std::string_view line) {
  if (!verbose_) return;
  std::fprintf(stderr, "pvebridge[%d]: %.*s\n", session, static_cast<int>(line.size()),
               line.data());
  std::fflush(stderr);
}

void Output::on_starting(int session, const Guest& guest, bool resume) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("starting").key("session").value(session);
    protocol_field(w, session);
    w.key("action").value(resume ? "resume" : "start").key("guest").begin_object();
    guest_identity_json(w, guest);
    w.end_object().end_object();
    emit(w.str());
    return;
  }
  // Names its guest already.
  human_line(std::string(resume ? "resuming " : "starting ") + guest.display_name() + " on " +
             guest.node + "\u2026");
}

void Output::on_guest_paused(int session, const Guest& guest) {
  const std::string text = guest.display_name() + " on " + guest.node +
                           " is paused: its console shows a frozen screen (add --start to resume "
                           "it)";
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("warning").key("session").value(session);
    protocol_field(w, session);
    w.key("code").value("guest_paused").key("message").value(text).end_object();
    emit(w.str());
    return;
  }
  human_line("warning: " + text);  // names its guest already
}

void Output::on_listening(int session, const ListeningInfo& info) {
  const bool v6 = info.address.find(':') != std::string::npos;
  const std::string where =
      (v6 ? "[" + info.address + "]" : info.address) + ":" + std::to_string(info.port);
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("listening").key("session").value(session);
    protocol_field(w, session);
    w.key("address").value(info.address).key("port").value(static_cast<int64_t>(info.port));
    w.key("vv_file");
    if (info.vv_file) {
      w.value(*info.vv_file);
    } else {
      w.null();
    }
    w.key("guest").begin_object();
    guest_identity_json(w, info.guest);
    w.end_object();
    w.key("local_auth")
        .value(info.passthrough ? "node_password" : local_auth_name(info.local_auth));
    if (serve_) w.key("url").value("vnc://" + where + "/");
    if (info.password) w.key("password").value(*info.password);
    w.end_object();
    emit(w.str());
    return;
  }
  std::string line;
  if (serve_) {
    line = "console of " + info.guest.display_name() + " on " + info.guest.node + ": vnc://" +
           where + "/";
    if (info.vv_file) line += "  .vv file " + *info.vv_file;
    if (info.password) line += "  password " + *info.password;
    if (!info.password && info.local_auth == LocalAuth::none) line += "  (no password)";
  } else {
    line = "console of " + info.guest.display_name() + " on " + info.guest.node + " listening on " +
           where;
    if (info.vv_file) line += " (.vv file " + *info.vv_file + ")";
  }
  human_line(line);  // names its guest already
}

void Output::on_client_connected(int session, int client) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("client_connected").key("session").value(session);
    w.key("client").value(client);
    protocol_field(w, session);
    w.end_object();
    emit(w.str());
  } else if (serve_) {
    human(session, "client " + std::to_string(client) + " connected");
  } else {
    human(session, client == 1 ? "viewer connected" : "viewer reconnected");
  }
}

void Output::on_client_closed(int session, int client, const ClientEnd& end) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("client_closed").key("session").value(session);
    w.key("client").value(client);
    w.key("bytes_to_guest").value(end.bytes_to_guest);
    w.key("bytes_from_guest").value(end.bytes_from_guest);
    if (end.error.failed()) {
      w.key("code").value(errc_name(end.error.code())).key("message").value(end.error.message());
    }
    protocol_field(w, session);
    w.end_object();
    emit(w.str());
  } else if (serve_) {
    std::string line = "client " + std::to_string(client) + " closed";
    if (end.error.failed()) line += ": " + end.error.message();
    human(session, line);
  }
}

void Output::on_reconnecting(int session, int client, int attempt, const Error& reason,
                             std::string_view host) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("reconnecting").key("session").value(session);
    if (serve_) w.key("client").value(client);
    w.key("attempt").value(attempt).key("reason").value(reason.message());
    w.key("code").value(errc_name(reason.code())).end_object();
    emit(w.str());
  } else if (attempt == 1) {
    human(session, (serve_ ? "client " + std::to_string(client) + ": " : std::string()) +
                       "connection to " + std::string(host) + " lost (" + reason.message() +
                       "); reconnecting\u2026");
  }
}

void Output::on_reconnected(int session, int client, int attempts, uint64_t downtime_ms) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("reconnected").key("session").value(session);
    if (serve_) w.key("client").value(client);
    w.key("attempts").value(attempts).key("downtime_ms").value(downtime_ms).end_object();
    emit(w.str());
  } else {
    char secs[32];
    snprintf(secs, sizeof secs, "%.1f", static_cast<double>(downtime_ms) / 1000.0);
    human(session, (serve_ ? "client " + std::to_string(client) + ": " : std::string()) +
                       "reconnected after " + secs + " s");
  }
}

void Output::on_local_auth_failed(int session, int client, std::string_view peer) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("local_auth_failed").key("session").value(session);
    w.key("client").value(client).key("peer").value(peer);
    protocol_field(w, session);
    w.end_object();
    emit(w.str());
  } else {
    human(session, "refused a local client from " + std::string(peer) +
                       ": wrong local password (the console keeps serving)");
  }
}

void Output::on_client_refused(int session, std::string_view why) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("client_refused").key("session").value(session);
    protocol_field(w, session);
    w.key("message").value(why).end_object();
    emit(w.str());
  } else {
    human(session, "refused a local connection: " + std::string(why));
  }
}

void Output::on_viewer_exited(int session, int code, std::string_view output) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("viewer_exited").key("session").value(session);
    protocol_field(w, session);
    w.key("code").value(code);
    if (!output.empty()) w.key("output").value(output);
    w.end_object();
    emit(w.str());
  } else if (code != 0) {
    // With --verbose every line of the viewer went by already (on_log).
    std::string text = "viewer exited with code " + std::to_string(code);
    if (!output.empty() && !verbose_) {
      text += "; its last messages:";
      while (!output.empty()) {
        size_t nl = output.find('\n');
        text += "\n  " + std::string(output.substr(0, nl));
        output.remove_prefix(nl == std::string_view::npos ? output.size() : nl + 1);
      }
    }
    human(session, text);
  }
}

static std::string bytes_text(uint64_t n) {
  char buf[32];
  if (n >= 10ull * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1024.0 * 1024.0));
  } else if (n >= 10 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024.0);
  } else {
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(n));
  }
  return buf;
}

void Output::on_closed(int session, const SessionEnd& end) {
  if (end.reason == CloseReason::error) error(session, end.error);
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("closed").key("session").value(session);
    protocol_field(w, session);
    w.key("reason").value(close_reason_name(end.reason));
    w.key("bytes_to_guest").value(end.bytes_to_guest);
    w.key("bytes_from_guest").value(end.bytes_from_guest);
    w.key("reconnects").value(static_cast<uint64_t>(end.reconnects));
    // The server ended the console; its message says more when reconnecting gave up (an `error`
    // end has its own event).
    if (end.reason == CloseReason::server_closed && end.error.failed()) {
      w.key("message").value(end.error.message());
    }
    // For the throughput benchmark (bench/bridge_throughput): payload bytes copied so far by our
    // code (ByteChain, the codecs) and handed into or out of the TLS library, process-wide.
    const TlsCopyStats& tls = tls_copy_stats();
    w.key("copied_bytes").value(copy_stats().bytes);
    w.key("tls_copied_bytes").value(tls.bytes_in + tls.bytes_out).end_object();
    emit(w.str());
    return;
  }
  std::string why;
  switch (end.reason) {
    case CloseReason::client_closed:
      why = "the viewer disconnected";
      break;
    case CloseReason::viewer_exited:
      why = "the viewer exited";
      break;
    case CloseReason::server_closed:
      // With reconnecting, it also says that no new connection came within --reconnect.
      why = end.error.failed() ? end.error.message() : "the server ended the console";
      break;
    case CloseReason::keepalive_timeout:
      why = end.error.message();
      break;
    case CloseReason::interrupted:
      why = end.error.message();
      break;
    case CloseReason::error:
      return;  // already said
  }
  human(session, "console closed: " + why + " (" + bytes_text(end.bytes_from_guest) +
                     " from the guest, " + bytes_text(end.bytes_to_guest) + " to it)");
}

}  // namespace pvb
