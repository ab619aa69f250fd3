#include "tests/mock_pveproxy/server/qmp_client.h"

#include <optional>

#include "engine/core/json.h"
#include "engine/core/platform.h"
#include "tests/mock_pveproxy/server/unix_stream_transport.h"

namespace pvb::mock {

namespace {

constexpr std::string_view kWhat = "QMP message";

// A member of a JSON object, or nullopt (also when `value` is not an object).
std::optional<JsonElement> member(JsonElement value, std::string_view key) {
  simdjson::dom::object object;
  JsonElement found;
  if (value.get(object) != simdjson::SUCCESS) return std::nullopt;
  if (object.at_key(key).get(found) != simdjson::SUCCESS) return std::nullopt;
  return found;
}

std::string version_text(JsonElement greeting) {
  std::optional<JsonElement> qemu;
  if (auto qmp = member(greeting, "QMP")) {
    if (auto version = member(*qmp, "version")) qemu = member(*version, "qemu");
  }
  if (!qemu) return "";
  std::string text;
  for (const char* part : {"major", "minor", "micro"}) {
    Result<int64_t> n = json_int(*qemu, part, kWhat);
    if (!n.ok()) return "";
    text += (text.empty() ? "" : ".") + std::to_string(*n);
  }
  return text;
}

bool worth_retrying(const Error& error) {
  // Nothing at the path yet, or the socket exists but QEMU does not accept yet.
  return error.code() == Errc::connect &&
         (error.native() == UV_ENOENT || error.native() == UV_ECONNREFUSED);
}

}  // namespace

QmpClient::QmpClient(Loop& loop, std::string socket_path, QmpClientOptions options)
    : loop_(loop), path_(std::move(socket_path)), options_(options) {}

QmpClient::~QmpClient() {
  if (transport_) transport_->set_sink(nullptr);
}

void QmpClient::start(ReadyFn ready) {
  if (state_ != State::idle) return;
  ready_ = std::move(ready);
  uv_update_time(loop_.raw());
  deadline_ms_ = loop_.now_ms() + options_.connect_timeout_ms;
  connect_once();
}

void QmpClient::connect_once() {
  state_ = State::connecting;
  transport_ = UnixStreamTransport::connect(loop_, path_);
  transport_->set_sink(this);
  transport_->start();
}

void QmpClient::retry_or_fail(const Error& error) {
  // Called from the failed transport's on_closed: it may only be destroyed later.
  transport_->set_sink(nullptr);
  loop_.defer_delete(std::move(transport_));
  if (!worth_retrying(error) || loop_.now_ms() + options_.retry_interval_ms > deadline_ms_) {
    Error e = error;
    if (worth_retrying(error)) {
      e = Error(Errc::timeout,
                "QMP: nobody answered at " + path_ + " within " +
                    std::to_string(options_.connect_timeout_ms) + " ms (" + error.message() + ")",
                error.native());
    }
    fail(std::move(e));
    return;
  }
  if (!retry_timer_) retry_timer_ = std::make_unique<Timer>(loop_);
  retry_timer_->start(options_.retry_interval_ms, [this] { connect_once(); });
}

void QmpClient::execute(std::string command, std::string arguments_json, ReplyFn done) {
  Command c{0, std::move(command), std::move(arguments_json), std::move(done)};
  if (state_ == State::closed) {
    loop_.post([done = std::move(c.done), weak = alive_.weak(), name = c.name] {
      if (!weak.expired()) done(Error(Errc::connection_lost, "QMP " + name + ": not connected"));
    });
    return;
  }
  if (state_ == State::ready) {
    send(std::move(c));
  } else {
    waiting_.push_back(std::move(c));
  }
}

void QmpClient::send(Command command) {
  command.id = next_id_++;
  std::string line = "{\"execute\":\"" + command.name + "\"";
  if (!command.arguments.empty()) line += ",\"arguments\":" + command.arguments;
  line += ",\"id\":" + std::to_string(command.id) + "}\r\n";
  ByteChain out;
  out.append_header(line.data(), line.size());
  // Both may hold a password: keep it no longer than needed (best effort).
  wipe(command.arguments);
  wipe(line);
  sent_.push_back(std::move(command));
  transport_->write(out);
}

void QmpClient::close() {
  if (state_ == State::closed) return;
  on_closed_ = nullptr;  // the caller knows
  // Whoever waits hears it on a later iteration, never from inside this call.
  std::deque<Command> commands = std::move(sent_);
  for (Command& c : waiting_) commands.push_back(std::move(c));
  sent_.clear();
  waiting_.clear();
  ReadyFn ready = std::move(ready_);
  ready_ = nullptr;
  fail(Error(Errc::interrupted, "QMP client closed"));
  loop_.post([commands = std::move(commands), ready = std::move(ready), weak = alive_.weak()] {
    const Error closed(Errc::interrupted, "QMP client closed");
    if (ready && !weak.expired()) ready(closed);
    for (const Command& c : commands) {
      if (weak.expired()) return;
      c.done(Error(Errc::interrupted, "QMP " + c.name + ": closed"));
    }
  });
}

// --- reading -------------------------------------------------------------------------------------

void QmpClient::on_connected() {
  if (state_ == State::connecting) state_ = State::greeting;
}

void QmpClient::on_data(ByteChain& data, bool end_stream) {
  std::weak_ptr<char> alive = alive_.weak();
  while (state_ != State::closed) {
    std::optional<size_t> newline = data.find("\n", 0, options_.max_line + 1);
    if (!newline) {
      if (data.size() > options_.max_line) {
        fail(Error(Errc::too_large,
                   "QMP: a message longer than " + std::to_string(options_.max_line) + " bytes"));
        return;
      }
      break;
    }
    std::string line = data.to_string(*newline);
    data.drain(*newline + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) handle_line(line);
    if (alive.expired()) return;
  }
  if (end_stream && state_ != State::closed) {
    fail(Error(Errc::connection_lost, "QMP: QEMU closed the connection at " + path_));
  }
}

void QmpClient::handle_line(std::string_view line) {
  if (state_ == State::greeting) {
    handle_greeting(line);
  } else {
    handle_reply(line);
  }
}

void QmpClient::handle_greeting(std::string_view line) {
  Result<JsonDocument> doc = JsonDocument::parse(line, kWhat);
  if (!doc.ok() || !member(doc->root(), "QMP")) {
    fail(Error(Errc::protocol, "QMP: expected the greeting from " + path_));
    return;
  }
  qemu_version_ = version_text(doc->root());
  state_ = State::negotiating;
  Command negotiate{0, "qmp_capabilities", "", [this](Result<std::string> r) {
                      if (!r.ok()) return fail(r.error());
                      state_ = State::ready;
                      std::deque<Command> waiting = std::move(waiting_);
                      waiting_.clear();
                      for (Command& c : waiting) send(std::move(c));
                      if (ReadyFn ready = std::move(ready_)) ready(Error());
                    }};
  send(std::move(negotiate));
}

void QmpClient::handle_reply(std::string_view line) {
  Result<JsonDocument> doc = JsonDocument::parse(line, kWhat);
  if (!doc.ok()) return fail(doc.error());
  JsonElement root = doc->root();
  if (member(root, "event")) {
    ++events_seen_;
    return;
  }
  std::optional<JsonElement> returned = member(root, "return");
  std::optional<JsonElement> error = member(root, "error");
  if (!returned && !error) return fail(Error(Errc::protocol, "QMP: a message that is no reply"));
  if (sent_.empty()) return fail(Error(Errc::protocol, "QMP: a reply to no command"));

  auto it = sent_.begin();
  if (std::optional<JsonElement> id = member(root, "id")) {
    Result<int64_t> n = json_as_int(*id, "id", kWhat);
    while (it != sent_.end() && (!n.ok() || it->id != static_cast<uint64_t>(*n))) ++it;
    if (it == sent_.end()) return fail(Error(Errc::protocol, "QMP: a reply with an unknown id"));
  }
  Command command = std::move(*it);
  sent_.erase(it);

  if (returned) {
    command.done(std::string(simdjson::minify(*returned)));
    return;
  }
  std::string detail = "QMP " + command.name + " failed";
  if (Result<std::string> cls = json_string(*error, "class", kWhat); cls.ok()) {
    detail += " (" + *cls + ")";
  }
  if (Result<std::string> desc = json_string(*error, "desc", kWhat); desc.ok()) {
    detail += ": " + *desc;
  }
  command.done(Error(Errc::protocol, std::move(detail)));
}

void QmpClient::on_closed(const Error& error) {
  if (state_ == State::closed) return;
  if (state_ == State::connecting) return retry_or_fail(error);
  Error e = error.failed()
                ? error
                : Error(Errc::connection_lost, "QMP: the connection to " + path_ + " ended");
  fail(std::move(e));
}

// --- ending --------------------------------------------------------------------------------------

void QmpClient::fail(Error error) {
  if (state_ == State::closed) return;
  const bool was_ready = state_ == State::ready;
  state_ = State::closed;
  retry_timer_.reset();
  if (transport_) {
    transport_->set_sink(nullptr);
    transport_->close(CloseMode::Abort);
    loop_.defer_delete(std::move(transport_));
  }
  // Everyone who waits hears it; any of them may destroy us.
  std::weak_ptr<char> alive = alive_.weak();
  std::deque<Command> commands = std::move(sent_);
  for (Command& c : waiting_) commands.push_back(std::move(c));
  sent_.clear();
  waiting_.clear();
  if (ReadyFn ready = std::move(ready_)) {
    ready(error);
    if (alive.expired()) return;
  }
  for (Command& c : commands) {
    c.done(Error(error.code(), "QMP " + c.name + ": " + error.message(), error.native()));
    if (alive.expired()) return;
  }
  if (was_ready && on_closed_) on_closed_(error);
}

}  // namespace pvb::mock
