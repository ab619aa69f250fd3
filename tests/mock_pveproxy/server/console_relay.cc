#include "tests/mock_pveproxy/server/console_relay.h"

#include <string>

namespace pvb::mock {

const char* relay_end_name(RelayResult::End end) {
  switch (end) {
    case RelayResult::End::client:
      return "client";
    case RelayResult::End::vm:
      return "vm";
    case RelayResult::End::vm_backlog:
      return "vm_backlog";
    case RelayResult::End::drop_after:
      return "drop_after";
    case RelayResult::End::cut:
      return "cut";
  }
  return "?";
}

ConsoleRelay::ConsoleRelay(Transport& client, Transport& client_lower, Transport& vm,
                           RelayRules rules, DoneFn done)
    : client_(client), client_lower_(client_lower), vm_(vm), rules_(rules), done_(std::move(done)) {
  client_side_.relay = this;
  client_side_.is_client = true;
  vm_side_.relay = this;
}

ConsoleRelay::~ConsoleRelay() {
  if (client_.sink() == &client_side_) client_.set_sink(nullptr);
  if (vm_.sink() == &vm_side_) vm_.set_sink(nullptr);
}

void ConsoleRelay::start() {
  if (started_) return;
  started_ = true;
  client_.set_sink(&client_side_);
  vm_.set_sink(&vm_side_);
  client_.set_write_watermarks(rules_.client_high_mark, rules_.client_low_mark);
  client_.start();
  vm_.start();
}

// --- moving bytes ---------------------------------------------------------------------------

bool ConsoleRelay::spend_budget(ByteChain& data) {
  if (!rules_.drop_after) return false;
  const uint64_t used = result_.to_vm + result_.to_client;
  const uint64_t left = *rules_.drop_after > used ? *rules_.drop_after - used : 0;
  if (data.size() < left) return false;
  if (data.size() > left) {
    ByteChain allowed;
    allowed.move_from(data, static_cast<size_t>(left));
    data.clear();
    data.move_from(allowed);
  }
  return true;
}

bool ConsoleRelay::trim_to(ByteChain& data, uint64_t sent, std::optional<uint64_t> limit) {
  if (!limit) return false;
  const uint64_t left = *limit > sent ? *limit - sent : 0;
  if (data.size() < left) return false;
  if (data.size() > left) {
    ByteChain allowed;
    allowed.move_from(data, static_cast<size_t>(left));
    data.clear();
    data.move_from(allowed);
  }
  return true;
}

void ConsoleRelay::cut() {
  if (ending_) return;
  ending_ = true;
  result_.ended_by = RelayResult::End::cut;
  if (rules_.on_cut) rules_.on_cut();
  if (!client_side_.closed) {
    // A reset, or a WebSocket Close (the node ending the console in order).
    if (rules_.cut_rst) {
      client_lower_.close(CloseMode::Abort);
    } else {
      client_.close(CloseMode::Flush);
    }
  }
  if (!vm_side_.closed) vm_.close(CloseMode::Abort);
  maybe_done();
}

void ConsoleRelay::arm_cut(std::optional<uint64_t> down, std::optional<uint64_t> up, bool rst) {
  rules_.cut_rst = rst;
  if (down) rules_.cut_down = result_.to_client + *down;
  if (up) rules_.cut_up = result_.to_vm + *up;
}

void ConsoleRelay::stall() {
  // Silence: nothing read from either side (the client's pings go unanswered), nothing written.
  stalled_ = true;
  client_.read_disable(true);
  vm_.read_disable(true);
}

void ConsoleRelay::to_vm(ByteChain& data) {
  if (stalled_) return data.clear();
  const bool cut_now = trim_to(data, result_.to_vm, rules_.cut_up);
  const bool budget_used_up = spend_budget(data);
  result_.to_vm += data.size();
  if (!data.empty()) vm_.write(data);
  if (cut_now) return cut();
  if (budget_used_up) {
    end(RelayResult::End::drop_after, Error());
    return;
  }
  schedule_backlog_check();
}

void ConsoleRelay::to_client(ByteChain& data) {
  if (stalled_) return data.clear();
  const bool cut_now = trim_to(data, result_.to_client, rules_.cut_down);
  const bool stall_now = trim_to(data, result_.to_client, rules_.stall_after);
  const bool budget_used_up = spend_budget(data);
  result_.to_client += data.size();
  if (!data.empty()) client_.write(data);
  if (cut_now) return cut();
  if (stall_now) return stall();
  if (budget_used_up) end(RelayResult::End::drop_after, Error());
  // Pausing waits for on_write_high: it is re-checked when it runs, and only after it has fired
  // is on_write_low promised. A pause taken here could miss its resume when the websocket drains
  // before the posted "high" runs.
}

void ConsoleRelay::schedule_backlog_check() {
  if (backlog_check_posted_) return;
  backlog_check_posted_ = true;
  client_.loop().post([this, weak = alive_.weak()] {
    if (weak.expired()) return;
    backlog_check_posted_ = false;
    if (ending_) return;
    const size_t backlog = vm_.pending_write_bytes();
    if (backlog > rules_.max_vm_backlog) {
      end(RelayResult::End::vm_backlog,
          Error(Errc::too_large, std::to_string(backlog) + " bytes wait for the VM side (limit " +
                                     std::to_string(rules_.max_vm_backlog) + ")"));
    }
  });
}

// --- ending ---------------------------------------------------------------------------------

void ConsoleRelay::end(RelayResult::End how, Error error) {
  if (ending_) return;
  ending_ = true;
  result_.ended_by = how;
  result_.error = std::move(error);
  switch (how) {
    case RelayResult::End::client:
      // The websocket closes its own connection after an end (without answering a Close).
      if (!vm_side_.closed) vm_.close(result_.error.ok() ? CloseMode::Flush : CloseMode::Abort);
      break;
    case RelayResult::End::vm:
    case RelayResult::End::drop_after:
      // No Close frame: what was relayed is flushed, then the connection just closes.
      if (!client_side_.closed) client_lower_.close(CloseMode::Flush);
      if (!vm_side_.closed) {
        vm_.close(how == RelayResult::End::vm ? CloseMode::Flush : CloseMode::Abort);
      }
      break;
    case RelayResult::End::cut:
    case RelayResult::End::vm_backlog:
      if (!client_side_.closed) client_.close(CloseMode::Abort);
      if (!vm_side_.closed) vm_.close(CloseMode::Abort);
      break;
  }
  maybe_done();
}

void ConsoleRelay::maybe_done() {
  if (done_called_ || !client_side_.closed || !vm_side_.closed) return;
  done_called_ = true;
  if (done_) done_(result_);
}

// --- the two sides ----------------------------------------------------------------------------

void ConsoleRelay::Side::on_data(ByteChain& data, bool end_stream) {
  if (relay->ending_) {
    data.clear();
    return;
  }
  if (!data.empty()) {
    if (is_client) {
      relay->to_vm(data);
    } else {
      relay->to_client(data);
    }
  }
  if (end_stream && !relay->ending_) {
    relay->end(is_client ? RelayResult::End::client : RelayResult::End::vm, Error());
  }
}

void ConsoleRelay::Side::on_write_high() {
  if (is_client && !relay->vm_paused_ && !relay->ending_) {
    relay->vm_paused_ = true;
    relay->vm_.read_disable(true);
  }
}

void ConsoleRelay::Side::on_write_low() {
  if (is_client && relay->vm_paused_ && !relay->vm_side_.closed) {
    relay->vm_paused_ = false;
    relay->vm_.read_disable(false);
  }
}

void ConsoleRelay::Side::on_closed(const Error& error) {
  closed = true;
  if (!relay->ending_) {
    relay->end(is_client ? RelayResult::End::client : RelayResult::End::vm, error);
  } else {
    relay->maybe_done();
  }
}

}  // namespace pvb::mock
