// What the user sees: short human lines on stderr, or (--json) one JSON object per line on
// stdout, each with "event" and "session". Nothing here ever prints a secret: messages come from
// Errors, which never carry them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/console/console_session.h"
#include "engine/proxmox/guest.h"

namespace pvb {

class JsonWriter;

class Output : public ConsoleObserver {
 public:
  Output(bool json, bool verbose) : json_(json), verbose_(verbose) {}

  void error(int session, const Error& e);
  void warning(const std::string& text);
  void verbose(int session, std::string_view line);
  // A human line on stderr, even with --json (whose stdout stays a clean document).
  void note(const std::string& text);
  // Names the guest of a session: with more than one session, each human line names its guest.
  void name_session(int session, std::string guest);
  // The console protocol of a session ("vnc", "spice"): its JSON events carry it as "protocol".
  void set_protocol(int session, std::string protocol);

  // ConsoleObserver
  void on_log(int session, std::string_view line) override { verbose(session, line); }
  void on_starting(int session, const Guest& guest, bool resume) override;
  void on_guest_paused(int session, const Guest& guest) override;
  void on_listening(int session, const ListeningInfo& info) override;
  void on_client_connected(int session, int client) override;
  void on_client_closed(int session, int client, const ClientEnd& end) override;
  void on_client_refused(int session, std::string_view why) override;
  void on_local_auth_failed(int session, int client, std::string_view peer) override;
  // serve: clients are numbered and reported as they come and go.
  void set_serve(bool serve) { serve_ = serve; }
  void on_viewer_exited(int session, int code, std::string_view output) override;
  // stderr says it once per loss (attempt 1); --json has an event per attempt.
  void on_reconnecting(int session, int client, int attempt, const Error& reason,
                       std::string_view host) override;
  void on_reconnected(int session, int client, int attempts, uint64_t downtime_ms) override;
  void on_closed(int session, const SessionEnd& end) override;

  bool json() const { return json_; }

 private:
  void emit(const std::string& json_line);
  // "pvebridge: web01 (100): line" when several sessions run, else "pvebridge: line".
  void human(int session, const std::string& line) const;
  bool json_;
  bool verbose_;
  bool serve_ = false;
  void protocol_field(JsonWriter& w, int session) const;
  std::map<int, std::string> session_guests_;
  std::map<int, std::string> session_protocols_;
};

}  // namespace pvb
