// TerminalSession: one terminal console (a container's console, a VM's serial port, a node's
// shell) in the user's own terminal, as a state machine on the loop over the engine's seams:
//
//   (guest: status, --start; qemu: which serial port) ─▶ termproxy ─▶ WebSocket (same host,
//   within 10 s) ─▶ "<user>:<ticket>\n" ─▶ "OK" within 10 s ─▶ session ─▶ teardown
//
// During the session, on a terminal: raw mode, the size at start and on every change, keepalive
// "2", keyboard through the escape filter (~. ~? ~~). Not on a terminal: stdin is sent as it is;
// after its EOF the session ends once the remote output has been quiet for idle_exit_ms.
// Output goes to the terminal as it arrives; when the terminal does not keep up, reading the
// WebSocket pauses (memory stays bounded by the marks). Teardown restores the terminal's mode
// on every path and tells the observer why, with byte counts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/core/loop.h"
#include "engine/io/terminal_io.h"
#include "engine/io/websocket.h"
#include "engine/proxmox/proxmox_client.h"
#include "engine/terminal/escape_filter.h"
#include "engine/terminal/termproxy_codec.h"

namespace pvb {

enum class TerminalCloseReason {
  user_ended,     // ~. (exit 0)
  remote_closed,  // the remote side ended the session: the shell exited (exit 0)
  input_done,     // pipe mode: stdin ended and the output went quiet (exit 0)
  interrupted,    // a signal
  error,
};
const char* terminal_close_reason_name(TerminalCloseReason r);

struct TerminalOptions {
  bool start_guest = false;
  std::optional<int> serial;  // qemu: serialN; none = the first one in the VM's config
  std::optional<uint8_t> escape = '~';
  uint64_t keepalive_ms = 30000;     // "2" every so often; 0 = never
  uint64_t idle_exit_ms = 2000;      // pipe mode, after stdin's EOF
  uint64_t ok_timeout_ms = 10000;    // the server's OK must come within this
  uint64_t timeout_ms = 15000;       // WebSocket handshake
  uint64_t drain_timeout_ms = 2000;  // at the end, output still pending is dropped after this
  size_t high_mark = 256 * 1024;     // output (and WebSocket) backlog that pauses the other side
  size_t low_mark = 64 * 1024;
  size_t ws_frame_payload = 16 * 1024 - 8;
};

struct TerminalEnd {
  TerminalCloseReason reason = TerminalCloseReason::error;
  Error error;
  uint64_t bytes_in = 0;   // input bytes sent (before framing)
  uint64_t bytes_out = 0;  // output bytes received
  int signal = 0;
};

class TerminalObserver {
 public:
  virtual ~TerminalObserver() = default;
  virtual void on_log(std::string_view line) {}
  virtual void on_connected(const TerminalTarget& target, bool interactive) = 0;
  virtual void on_closed(const TerminalEnd& end) = 0;
};

class TerminalSession {
 public:
  // api, io and observer must outlive the session.
  TerminalSession(Loop& loop, ProxmoxClient& api, TerminalTarget target, TerminalOptions options,
                  TerminalIo& io, TerminalObserver& observer);
  ~TerminalSession();
  TerminalSession(const TerminalSession&) = delete;
  TerminalSession& operator=(const TerminalSession&) = delete;

  void start();
  // SIGINT/SIGTERM/SIGHUP: tear down now.
  void interrupt(int signum);

  bool finished() const { return finished_; }
  const TerminalEnd& end() const { return end_; }
  const TerminalTarget& target() const { return target_; }

 private:
  // One sink per transport, each forwarding to the session.
  struct WsSink;
  struct InputSink;
  struct OutputSink;

  void choose_serial();
  void open_terminal();
  void open_websocket(TermTicket ticket);
  void ws_connected();
  void ws_data(ByteChain& data, bool end_stream);
  void ws_closed(const Error& error);
  void ws_write_low();
  // OK arrived: the local terminal joins (raw mode, size, input, keepalive).
  void session_ready();
  void send_size();
  void input_data(ByteChain& data, bool end_stream);
  void input_closed(const Error& error);
  void output_data_written();
  void output_low();
  void output_closed(const Error& error);
  void send_to_ws(ByteChain& frames);
  void arm_idle_timer();
  Error refused_before_ok(const Error& cause);
  void end_with(TerminalCloseReason reason, Error error = Error());
  void maybe_finish();
  void log(const std::string& line);

  ProxmoxClient& api_;
  TerminalTarget target_;
  TerminalOptions options_;
  TerminalIo& io_;
  TerminalObserver& observer_;

  std::unique_ptr<WsSink> ws_sink_;
  std::unique_ptr<InputSink> input_sink_;
  std::unique_ptr<OutputSink> output_sink_;
  TermTicket ticket_;
  std::unique_ptr<WebSocketStream> ws_;
  TermproxyOkWaiter ok_waiter_;
  EscapeFilter escape_;
  std::optional<TerminalSize> last_size_;
  bool ready_ = false;  // OK received
  bool raw_mode_ = false;
  bool output_paused_ws_ = false;  // we paused WebSocket reads: output is backed up
  bool ws_paused_input_ = false;   // we paused stdin reads: the WebSocket is backed up
  bool input_eof_ = false;
  bool io_started_ = false;
  Timer ok_timer_;
  Timer keepalive_timer_;
  Timer idle_timer_;
  Timer drain_timer_;

  bool ending_ = false;
  bool finished_ = false;
  TerminalEnd end_;
  AliveToken alive_;
};

}  // namespace pvb
