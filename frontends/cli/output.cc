#include "frontends/cli/output.h"

#include <cstdio>

#include "engine/core/byte_chain.h"
#include "engine/core/json_writer.h"
#include "transports/tls/tls_engine.h"

namespace pvb {

void Output::emit(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

static void human(const std::string& line) {
  std::fprintf(stderr, "pvebridge: %s\n", line.c_str());
  std::fflush(stderr);
}

void Output::error(int session, const Error& e) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("error").key("session").value(session);
    w.key("code").value(errc_name(e.code())).key("message").value(e.message()).end_object();
    emit(w.str());
  } else {
    human("error: " + e.message());
  }
}

void Output::warning(const std::string& text) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("warning").key("session").value(0);
    w.key("message").value(text).end_object();
    emit(w.str());
  } else {
    human("warning: " + text);
  }
}

void Output::verbose(int session, std::string_view line) {
  if (!verbose_) return;
  std::fprintf(stderr, "pvebridge[%d]: %.*s\n", session, static_cast<int>(line.size()),
               line.data());
  std::fflush(stderr);
}

static void guest_object(JsonWriter& w, const Guest& g) {
  w.begin_object();
  w.key("node").value(g.node).key("vmid").value(static_cast<int64_t>(g.vmid));
  w.key("type").value(guest_type_name(g.type));
  if (g.name.empty()) {
    w.key("name").null();
  } else {
    w.key("name").value(g.name);
  }
  w.end_object();
}

void Output::on_starting(int session, const Guest& guest, bool resume) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("starting").key("session").value(session);
    w.key("action").value(resume ? "resume" : "start").key("guest");
    guest_object(w, guest);
    w.end_object();
    emit(w.str());
    return;
  }
  human(std::string(resume ? "resuming " : "starting ") + guest.display_name() + " on " +
        guest.node + "\u2026");
}

void Output::on_guest_paused(int session, const Guest& guest) {
  const std::string text = guest.display_name() + " on " + guest.node +
                           " is paused: its console shows a frozen screen (add --start to resume "
                           "it)";
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("warning").key("session").value(session);
    w.key("code").value("guest_paused").key("message").value(text).end_object();
    emit(w.str());
    return;
  }
  human("warning: " + text);
}

void Output::on_listening(int session, const ListeningInfo& info) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("listening").key("session").value(session);
    w.key("address").value(info.address).key("port").value(static_cast<int64_t>(info.port));
    w.key("vv_file");
    if (info.vv_file) {
      w.value(*info.vv_file);
    } else {
      w.null();
    }
    w.key("guest");
    guest_object(w, info.guest);
    w.end_object();
    emit(w.str());
    return;
  }
  bool v6 = info.address.find(':') != std::string::npos;
  std::string where =
      (v6 ? "[" + info.address + "]" : info.address) + ":" + std::to_string(info.port);
  std::string line = "console of " + info.guest.display_name() + " on " + info.guest.node +
                     " listening on " + where;
  if (info.vv_file) line += " (.vv file " + *info.vv_file + ")";
  human(line);
}

void Output::on_client_connected(int session) {
  if (json_) {
    JsonWriter w;
    w.begin_object()
        .key("event")
        .value("client_connected")
        .key("session")
        .value(session)
        .end_object();
    emit(w.str());
  } else {
    human("viewer connected");
  }
}

void Output::on_client_refused(int session, std::string_view why) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("client_refused").key("session").value(session);
    w.key("message").value(why).end_object();
    emit(w.str());
  } else {
    human("refused a local connection: " + std::string(why));
  }
}

void Output::on_viewer_exited(int session, int code, std::string_view output) {
  if (json_) {
    JsonWriter w;
    w.begin_object().key("event").value("viewer_exited").key("session").value(session);
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
    human(text);
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
    w.key("reason").value(close_reason_name(end.reason));
    w.key("bytes_to_guest").value(end.bytes_to_guest);
    w.key("bytes_from_guest").value(end.bytes_from_guest);
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
      why = "the server ended the console";
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
  human("console closed: " + why + " (" + bytes_text(end.bytes_from_guest) + " from the guest, " +
        bytes_text(end.bytes_to_guest) + " to it)");
}

std::string guests_json(const std::vector<Guest>& guests) {
  JsonWriter w;
  w.begin_array();
  for (const Guest& g : guests) {
    w.begin_object();
    w.key("node").value(g.node).key("vmid").value(static_cast<int64_t>(g.vmid));
    w.key("type").value(guest_type_name(g.type));
    if (g.name.empty()) {
      w.key("name").null();
    } else {
      w.key("name").value(g.name);
    }
    w.key("status").value(g.status).key("template").value(g.is_template);
    w.key("tags").begin_array();
    std::string_view t = g.tags;
    while (!t.empty()) {
      auto semi = t.find_first_of(";, ");
      if (semi != 0) w.value(t.substr(0, semi));
      if (semi == std::string_view::npos) break;
      t.remove_prefix(semi + 1);
    }
    w.end_array();
    if (!g.pool.empty()) w.key("pool").value(g.pool);
    w.end_object();
  }
  w.end_array();
  return w.take();
}

// Display width: count UTF-8 code points (good enough for aligned names; wide CJK glyphs may
// still stick out by a column).
static size_t display_width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string guests_table(const std::vector<Guest>& guests) {
  std::vector<std::vector<std::string>> rows = {{"NODE", "VMID", "TYPE", "NAME", "STATUS", "TAGS"}};
  for (const Guest& g : guests) {
    std::string status = g.is_template ? "template" : g.status;
    std::string tags = g.tags;
    for (char& c : tags) c = (c == ';') ? ',' : c;
    rows.push_back({g.node, std::to_string(g.vmid), std::string(guest_type_name(g.type)),
                    g.name.empty() ? "-" : g.name, status, tags});
  }
  std::vector<size_t> width(6, 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], display_width(r[i]));
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - display_width(r[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace pvb
