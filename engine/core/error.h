// One error type for the whole project: a code the CLI maps to an exit status, the native
// error of the library that failed (libuv, mbedTLS, wslay), and a human detail line.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace pvb {

enum class Errc : int {
  ok = 0,
  usage,            // bad arguments or configuration
  auth,             // authentication failed (credentials, two-factor)
  tls_verify,       // the peer's certificate did not verify
  tls,              // TLS handshake or record error
  not_tls,          // the peer answered the TLS handshake in plain HTTP ("HTTP/1.1 400 ...")
  not_found,        // guest not found
  ambiguous,        // guest name matches several guests
  template_guest,   // the guest is a template
  not_running,      // guest not running, or failed to start
  dns,              // name resolution failed
  connect,          // TCP connect refused or unreachable
  timeout,          // a network step took too long
  connection_lost,  // reset, or closed by the peer before we were done
  http,             // unexpected HTTP status
  protocol,         // malformed data from the peer (HTTP, WebSocket, JSON, RFB)
  too_large,        // a size limit was exceeded
  console_refused,  // vncproxy, ticket or websocket upgrade refused
  viewer,           // viewer failed or missing
  no_client,        // no local client arrived in time
  no_spice,         // the guest has no SPICE display (a container, or a VM's vga is not qxl/virtio)
  spice_unreachable,  // the node's SPICE proxy (port 3128) cannot be reached
  interrupted,        // SIGINT/SIGTERM/SIGHUP
  io,                 // local I/O (files, sockets) failed
  internal,           // a bug
};

// Which layer an error's detail already names, as a code: layers above decide on it instead of
// searching the text (a "WebSocket: ..." error needs no "console WebSocket: " before it).
enum class ErrorSource : uint8_t {
  unspecified,
  websocket,  // the WebSocket layer itself failed (handshake, framing, closing)
};

// Fixed lowercase word for an error code, stable for --json output ("auth_failed", ...).
const char* errc_name(Errc code);

class Error {
 public:
  Error() = default;
  Error(Errc code, std::string detail, int native = 0)
      : code_(code), native_(native), detail_(std::move(detail)) {}

  bool ok() const { return code_ == Errc::ok; }
  bool failed() const { return code_ != Errc::ok; }
  Errc code() const { return code_; }
  int native() const { return native_; }
  const std::string& detail() const { return detail_; }

  // Prefixes the detail with where it happened: "TLS: " + detail. Returns *this for chaining.
  Error& context(std::string_view where);
  // One line for humans: the detail, or the code's name when there is none.
  std::string message() const;
  // Marks the layer the detail names (see ErrorSource). Returns *this for chaining.
  Error& from(ErrorSource source) {
    source_ = source;
    return *this;
  }
  ErrorSource source() const { return source_; }

 private:
  Errc code_ = Errc::ok;
  ErrorSource source_ = ErrorSource::unspecified;
  int native_ = 0;
  std::string detail_;
};

// An expected-style result (C++20 has no std::expected). Holds a T or a failed Error.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) { assert(std::get<1>(v_).failed()); }  // NOLINT

  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace pvb
