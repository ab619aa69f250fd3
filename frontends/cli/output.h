// What the user sees: short human lines on stderr, or (--json) one JSON object per line on
// stdout, each with "event" and "session". Nothing here ever prints a secret: messages come from
// Errors, which never carry them.
#pragma once

#include <string>
#include <vector>

#include "engine/console/console_session.h"
#include "engine/proxmox/guest.h"

namespace pvb {

class Output : public ConsoleObserver {
 public:
  Output(bool json, bool verbose) : json_(json), verbose_(verbose) {}

  void error(int session, const Error& e);
  void warning(const std::string& text);
  void verbose(int session, std::string_view line);
  void guest_table(const std::vector<Guest>& guests);

  // ConsoleObserver
  void on_log(int session, std::string_view line) override { verbose(session, line); }
  void on_starting(int session, const Guest& guest, bool resume) override;
  void on_guest_paused(int session, const Guest& guest) override;
  void on_listening(int session, const ListeningInfo& info) override;
  void on_client_connected(int session) override;
  void on_client_refused(int session, std::string_view why) override;
  void on_viewer_exited(int session, int code, std::string_view output) override;
  void on_closed(int session, const SessionEnd& end) override;

  bool json() const { return json_; }

 private:
  void emit(const std::string& json_line);
  bool json_;
  bool verbose_;
};

// The JSON array of `list --json`.
std::string guests_json(const std::vector<Guest>& guests);
// The aligned table of `list`.
std::string guests_table(const std::vector<Guest>& guests);

}  // namespace pvb
