#include "tests/mock_pveproxy/server/console_websocket.h"

#include "tests/mock_pveproxy/server/close_frame_filter.h"
#include "tests/mock_pveproxy/server/frame_rules.h"

namespace pvb::mock {

ConsoleWebsocket::ConsoleWebsocket(std::unique_ptr<Transport> lower, ByteChain leftover,
                                   ConsoleGrant grant, const MockOptions& options, Clock& clock,
                                   Random& random, std::function<void(const std::string&)> log,
                                   DoneFn done, uint64_t ordinal)
    : grant_(std::move(grant)), done_(std::move(done)), ordinal_(ordinal), random_(random) {
  summary_.port = grant_.port;
  summary_.vmid = grant_.vmid;
  summary_.console = grant_.console;
  Loop& loop = lower->loop();

  std::optional<RawFrameKind> raw = options.raw_after_upgrade();
  if (raw && *raw != RawFrameKind::never_close) {
    summary_.mode = "raw:" + std::string(raw_frame_kind_name(*raw));
    raw_ = std::make_unique<RawFrameSession>(std::move(lower), *raw, [this](const Error& e) {
      RelayResult r;
      r.error = e;
      finish(r);
    });
    return;
  }

  std::unique_ptr<Transport> below = std::move(lower);
  if (raw) {
    summary_.mode = "never_close";
    below = std::make_unique<CloseFrameFilter>(std::move(below), std::move(leftover));
    leftover = ByteChain();
  } else {
    summary_.mode = options.stall_ws() ? "stall" : "relay";
  }
  ws_lower_ = below.get();

  WsServerOptions ws_options;
  ws_options.codec.max_frame_payload = kWsMaxFramePayload;
  ws_options.codec.max_message = options.ws_max_payload_bytes() != 0
                                     ? options.ws_max_payload_bytes()
                                     : options.ws_max_frame_bytes();
  ws_options.reply_to_close = false;
  ws_options.frame_hook = [this, &options](const WsFrameInfo& frame) {
    if (frame.opcode == ws_opcode::kClose) client_close_seen_ = true;
    return check_client_frame(frame, options);
  };
  ws_ = WsTransport::server(std::move(below), std::move(leftover), std::move(ws_options), random);

  vm_ = make_vm_console(loop, grant_, options.stall_ws(), clock, random);
  if (vm_.rfb) {
    vm_.rfb->set_on_closed([log = std::move(log), port = grant_.port](const Error& e) {
      if (e.failed() && log) log("console " + std::to_string(port) + ": fake VM: " + e.message());
    });
  }
  RelayRules rules;
  rules.max_vm_backlog = MockOptions::ws_max_buffered_bytes;
  rules.drop_after = options.drop_ws_after();
  // Reconnect faults strike the first consoles only (`ordinal` counts them from 1).
  if (std::optional<CutSpec> cut = options.cut_ws();
      cut && (cut->times == 0 || ordinal <= cut->times)) {
    rules.cut_rst = cut->rst;
    rules.on_cut = [this, spec = *cut] {
      if (on_cut_) on_cut_(grant_, spec);
    };
    if (cut->armed) {
      armable_cut_ = *cut;
    } else {
      switch (cut->where) {
        case CutSpec::Where::down:
          rules.cut_down = cut->at;
          break;
        case CutSpec::Where::up:
          rules.cut_up = cut->at;
          break;
        case CutSpec::Where::random:
          rules.cut_down = kRandomCutFirst + random.next_u32() % (cut->at - kRandomCutFirst + 1);
          break;
        case CutSpec::Where::time:
          cut_after_ms_ = cut->at;
          break;
      }
    }
  }
  if (ordinal == 1) rules.stall_after = options.stall_ws_after();
  relay_ = std::make_unique<ConsoleRelay>(*ws_, *ws_lower_, *vm_.transport, rules,
                                          [this](const RelayResult& r) { finish(r); });
}

ConsoleWebsocket::~ConsoleWebsocket() {
  // The relay lets go of the transports before they are destroyed.
  relay_.reset();
}

void ConsoleWebsocket::abort() {
  if (ws_lower_ && !finished_) ws_lower_->close(CloseMode::Abort);
}

void ConsoleWebsocket::start() {
  if (started_) return;
  started_ = true;
  if (raw_) {
    raw_->start();
    return;
  }
  relay_->start();
  if (vm_.rfb) vm_.rfb->start();
  if (cut_after_ms_ != 0) start_cut_timer(cut_after_ms_);
}

void ConsoleWebsocket::start_cut_timer(uint64_t ms) {
  cut_timer_ = std::make_unique<Timer>(ws_->loop());
  cut_timer_->start(ms, [this] {
    if (relay_) relay_->cut();
  });
}

std::optional<std::string> ConsoleWebsocket::arm_cut() {
  if (!armable_cut_ || !relay_ || !started_ || finished_) return std::nullopt;
  const CutSpec spec = *armable_cut_;
  armable_cut_.reset();
  const auto said = [](const char* where, uint64_t n, bool rst) {
    return std::string(where) + " +" + std::to_string(n) + (rst ? " bytes, rst" : " bytes, close");
  };
  if (spec.mixed) {
    // k = 1, 2, 3, 4: down by RST, down by a Close, up by RST, up by a Close; then again.
    const uint64_t phase = (ordinal_ - 1) % 4;
    const bool rst = phase % 2 == 0;
    if (phase < 2) {
      const uint64_t n = 1 + random_.next_u32() % spec.at;
      relay_->arm_cut(n, std::nullopt, rst);
      return said("down", n, rst);
    }
    const uint64_t n = 1 + random_.next_u32() % 10;
    relay_->arm_cut(std::nullopt, n, rst);
    return said("up", n, rst);
  }
  switch (spec.where) {
    case CutSpec::Where::down:
      relay_->arm_cut(spec.at, std::nullopt, spec.rst);
      return said("down", spec.at, spec.rst);
    case CutSpec::Where::up:
      relay_->arm_cut(std::nullopt, spec.at, spec.rst);
      return said("up", spec.at, spec.rst);
    case CutSpec::Where::random: {
      const uint64_t n = 1 + random_.next_u32() % spec.at;
      relay_->arm_cut(n, std::nullopt, spec.rst);
      return said("down", n, spec.rst);
    }
    case CutSpec::Where::time:
      start_cut_timer(spec.at);
      return "in " + std::to_string(spec.at) + " ms" + (spec.rst ? ", rst" : ", close");
  }
  return std::nullopt;
}

void ConsoleWebsocket::finish(const RelayResult& result) {
  if (finished_) return;
  finished_ = true;
  summary_.relay = result;
  summary_.error = result.error;
  if (ws_ && client_close_seen_) summary_.client_close_code = ws_->peer_close_code();
  if (done_) done_(*this, summary_);
}

}  // namespace pvb::mock
