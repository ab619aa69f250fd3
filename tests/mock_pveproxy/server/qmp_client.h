// QmpClient: QEMU's machine protocol (QMP) over its Unix socket, asynchronously on the loop. This
// is how mock-pveproxy --qemu does what Proxmox's `qm vncproxy` does to a guest's QEMU when a
// console websocket connects: `set_password` then `expire_password` (see ../../shared PROTOCOL.md
// section 3).
//
// - start() connects, retrying every retry_interval_ms while nothing listens at the path yet
//   (QEMU creates its socket a few hundred milliseconds after it starts), reads the greeting
//   ({"QMP": {"version": ...}}) and negotiates with qmp_capabilities. Then `ready` is called.
// - execute() sends one command, queued until ready; each carries an "id" and its reply is
//   matched by it ({"return": ...} or {"error": {"class", "desc"}}). Replies without an id (QEMU
//   gives none to input it could not parse) go to the oldest command waiting.
// - Asynchronous events ({"event": ...}) are counted and otherwise ignored.
// - When the connection fails or ends (QEMU exited), every command not answered yet fails with
//   that error, and on_closed is called once.
// Arguments may hold secrets (set_password's password): they are never logged and no error
// message repeats them; errors name the command and QEMU's description only.
// Callbacks may destroy the client (it checks that it is still alive after each one).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "engine/core/error.h"
#include "engine/core/loop.h"
#include "engine/io/transport.h"

namespace pvb::mock {

struct QmpClientOptions {
  uint64_t connect_timeout_ms = 10000;  // keep retrying this long while QEMU starts
  uint64_t retry_interval_ms = 10;
  size_t max_line = 1024 * 1024;  // a longer message is a protocol error
};

class QmpClient : private TransportSink {
 public:
  using ReadyFn = std::function<void(const Error&)>;
  // The reply's "return" value as compact JSON text ("{}" for most commands), or why it failed:
  // Errc::protocol with QEMU's error class and description, or the connection's error.
  using ReplyFn = std::function<void(Result<std::string>)>;

  QmpClient(Loop& loop, std::string socket_path, QmpClientOptions options = {});
  ~QmpClient() override;
  QmpClient(const QmpClient&) = delete;
  QmpClient& operator=(const QmpClient&) = delete;

  // Connects and negotiates; `ready` is called once, with ok or why not.
  void start(ReadyFn ready);
  // `arguments_json`: a JSON object, or empty for a command without arguments.
  void execute(std::string command, std::string arguments_json, ReplyFn done);
  // Ends the connection; commands not answered yet fail with Errc::interrupted (posted).
  void close();

  // Once, when the connection ends after having been ready (not after close()).
  void set_on_closed(std::function<void(const Error&)> cb) { on_closed_ = std::move(cb); }

  bool ready() const { return state_ == State::ready; }
  // QEMU's version from the greeting ("7.2.22"); empty before.
  const std::string& qemu_version() const { return qemu_version_; }
  uint64_t events_seen() const { return events_seen_; }

 private:
  enum class State { idle, connecting, greeting, negotiating, ready, closed };
  struct Command {
    uint64_t id = 0;
    std::string name;
    std::string arguments;
    ReplyFn done;
  };

  void connect_once();
  void retry_or_fail(const Error& error);
  void send(Command command);
  void handle_line(std::string_view line);
  void handle_greeting(std::string_view line);
  void handle_reply(std::string_view line);
  // Ends everything with `error`: the ready callback (if still due), every command, on_closed.
  void fail(Error error);

  // TransportSink
  void on_connected() override;
  void on_data(ByteChain& data, bool end_stream) override;
  void on_closed(const Error& error) override;

  Loop& loop_;
  std::string path_;
  QmpClientOptions options_;
  State state_ = State::idle;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Timer> retry_timer_;
  uint64_t deadline_ms_ = 0;
  ReadyFn ready_;
  std::deque<Command> waiting_;  // before ready
  std::deque<Command> sent_;     // sent, not answered yet
  uint64_t next_id_ = 1;
  std::string qemu_version_;
  uint64_t events_seen_ = 0;
  std::function<void(const Error&)> on_closed_;
  AliveToken alive_;
};

}  // namespace pvb::mock
