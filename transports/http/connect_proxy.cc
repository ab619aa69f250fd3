#include "transports/http/connect_proxy.h"

#include "engine/core/text.h"
#include "transports/http/rest_client.h"

namespace pvb {

ConnectProxyTransport::ConnectProxyTransport(std::unique_ptr<Transport> lower,
                                             ConnectProxyOptions options)
    : TransportOverlay(std::move(lower)), options_(std::move(options)), answer_timer_(loop()) {}

void ConnectProxyTransport::start() {
  if (started_ || closed()) return;
  started_ = true;
  if (options_.answer_timeout_ms > 0) {
    answer_timer_.start(options_.answer_timeout_ms, [this] {
      if (tunnel_open_ || closed()) return;
      fail(Error(Errc::timeout, "HTTP proxy " + options_.proxy_name + " did not open a tunnel to " +
                                    options_.target + " within " +
                                    describe_timeout(options_.answer_timeout_ms)));
    });
  }
  lower_->start();
}

void ConnectProxyTransport::write(ByteChain& data, bool end_stream) {
  if (closed() || closing_) {
    data.clear();
    return;
  }
  if (!tunnel_open_) {
    if (queued_end_) {
      data.clear();
      return;
    }
    queued_end_ = end_stream;
    write_queue().move_from(data);
    return;
  }
  write_lower(data, end_stream);
}

void ConnectProxyTransport::close(CloseMode mode) {
  if (closed() || closing_) return;
  answer_timer_.stop();
  if (tunnel_open_ && mode == CloseMode::Flush) {
    // The lower sends what is pending, then reports its end: that is when we are closed.
    closing_ = true;
    lower_->close(CloseMode::Flush);
    return;
  }
  // Before the tunnel exists nothing queued can reach the server: a Flush is an Abort then.
  lower_->close(CloseMode::Abort);
  finish(Error());
  write_queue().clear();  // after finish: nothing is reported from inside close()
}

void ConnectProxyTransport::on_read_enable_changed(bool enabled) {
  sync_lower_reading();
  if (enabled && end_pending_) {
    post([this] {
      if (closed() || !reading_enabled() || !end_pending_) return;
      end_pending_ = false;
      ByteChain none;
      emit_data(none, true);
    });
  }
}

void ConnectProxyTransport::sync_lower_reading() {
  // Never before the tunnel is open: the proxy's answer must be read whatever our sink wants.
  const bool disable = tunnel_open_ && !reading_enabled();
  if (disable == lower_read_disabled_) return;
  lower_read_disabled_ = disable;
  lower_->read_disable(disable);
}

// --- the lower transport's sink ------------------------------------------------------------------

void ConnectProxyTransport::on_connected() {
  if (closed()) return;
  send_connect();
}

void ConnectProxyTransport::send_connect() {
  HttpRequestHead head;
  head.method = "CONNECT";
  head.target = options_.target;
  head.headers.add("Host", options_.target);
  if (!options_.proxy_authorization.empty()) {
    head.headers.add("Proxy-Authorization", options_.proxy_authorization);
  }
  ByteChain out;
  write_request_head(head, out);
  write_lower(out);
}

void ConnectProxyTransport::on_data(ByteChain& data, bool end_stream) {
  if (closed()) {
    data.clear();
    return;
  }
  if (tunnel_open_) {
    emit_data(data, end_stream);
    return;
  }
  read_answer(data, end_stream);
}

void ConnectProxyTransport::read_answer(ByteChain& data, bool end_stream) {
  HttpLimits limits;
  limits.max_head_bytes = kMaxAnswerHead;
  limits.max_header_lines = 64;
  auto head = parse_response_head(data, limits, head_progress_);
  if (!head.ok()) {
    Error e = head.error();
    fail(Error(e.code(), "HTTP proxy " + options_.proxy_name + " answered CONNECT to " +
                             options_.target + " with a malformed head: " + e.message()));
    return;
  }
  if (!head.value()) {
    if (end_stream) {
      fail(Error(Errc::connection_lost, "HTTP proxy " + options_.proxy_name +
                                            " closed the connection before answering CONNECT to " +
                                            options_.target));
    }
    return;  // more of the head is to come
  }
  const HttpResponseHead& answer = *head.value();
  if (answer.status < 200 || answer.status > 299) {
    std::string why = "HTTP proxy " + options_.proxy_name + " refused CONNECT to " +
                      options_.target + ": " + std::to_string(answer.status) + " " +
                      printable(answer.reason);
    // 407 is the standard answer; tinyproxy, for one, says 401 to a CONNECT it will not let by.
    if (answer.status == 407 || answer.status == 401) {
      why += options_.proxy_authorization.empty()
                 ? " (it wants credentials: https_proxy=http://USER:PASSWORD@HOST:PORT)"
                 : " (the proxy credentials were refused)";
    }
    fail(Error(Errc::connect, why, answer.status));
    return;
  }
  open_tunnel(data, end_stream);
}

void ConnectProxyTransport::open_tunnel(ByteChain& rest, bool end_stream) {
  answer_timer_.stop();
  tunnel_open_ = true;
  sync_lower_reading();
  if (!write_queue().empty() || queued_end_) {
    WatermarkChain::Batch batch_check(write_queue());  // from our queue to the lower's: no dip
    ByteChain queued;
    write_queue().move_to(queued);
    write_lower(queued, queued_end_);
  }
  emit_connected();
  if (closed()) return;
  // Bytes after the answer belong to the tunnel (nothing should come before our first write, but
  // they are the server's if they do).
  if (!reading_enabled()) {
    end_pending_ = end_stream;  // the rest stays in the lower's buffer, re-offered on resume
    return;
  }
  if (!rest.empty() || end_stream) emit_data(rest, end_stream);
}

void ConnectProxyTransport::on_closed(const Error& error) {
  if (closed()) return;
  answer_timer_.stop();
  if (tunnel_open_ || closing_) {
    finish(error);
    return;
  }
  if (error.failed()) {
    Error e = error;
    finish(std::move(e.context("HTTP proxy")));
    return;
  }
  finish(Error(Errc::connection_lost, "HTTP proxy " + options_.proxy_name +
                                          " closed the connection before answering CONNECT to " +
                                          options_.target));
}

void ConnectProxyTransport::fail(Error error) {
  if (closed()) return;
  answer_timer_.stop();
  lower_->close(CloseMode::Abort);
  finish(std::move(error));
  write_queue().clear();
}

}  // namespace pvb
