#include "transports/http/http_body.h"

#include <algorithm>
#include <charconv>
#include <string>

namespace pvb {

namespace {

// One CRLF-terminated line at the front of a chain, found without copying. Like the head parser,
// a bare LF or CR is an error: chunk framing is where smuggling attacks live.
struct LineScan {
  enum class Outcome { need_more, complete, bare_line_end, too_long } outcome;
  size_t line_bytes = 0;  // without the CRLF
};

LineScan scan_line(const ByteChain& in, size_t max_line_bytes) {
  size_t pos = 0;
  bool after_cr = false;
  for (const Slice& s : in.slices()) {
    const uint8_t* d = s.data();
    for (size_t i = 0; i < s.size(); ++i, ++pos) {
      if (pos >= max_line_bytes) return {LineScan::Outcome::too_long};
      if (after_cr) {
        if (d[i] != '\n') return {LineScan::Outcome::bare_line_end};
        return {LineScan::Outcome::complete, pos - 1};
      }
      if (d[i] == '\r') after_cr = true;
      if (d[i] == '\n') return {LineScan::Outcome::bare_line_end};
    }
  }
  return {LineScan::Outcome::need_more};
}

// The line's text (framing, not payload: no counted copy), then drains it and its CRLF.
std::string take_line(ByteChain& in, size_t line_bytes) {
  std::string text;
  text.reserve(line_bytes);
  for (const Slice& s : in.slices()) {
    if (text.size() == line_bytes) break;
    size_t k = std::min(s.size(), line_bytes - text.size());
    text.append(reinterpret_cast<const char*>(s.data()), k);
  }
  in.drain(line_bytes + 2);
  return text;
}

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_visible_text(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

bool is_chunked_token(std::string_view s) {
  static constexpr std::string_view kChunked = "chunked";
  if (s.size() != kChunked.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = (s[i] >= 'A' && s[i] <= 'Z') ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
    if (c != kChunked[i]) return false;
  }
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Content-Length: every field and every comma-separated element must be the same number
// (RFC 9110 section 8.6); anything else is an error, never a guess.
Result<std::optional<uint64_t>> content_length(const HttpHeaders& headers) {
  std::optional<uint64_t> length;
  for (std::string_view value : headers.get_all("Content-Length")) {
    while (true) {
      size_t comma = value.find(',');
      std::string_view item = trim_ows(value.substr(0, comma));
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
      if (!is_digits(item) || ec != std::errc() || end != item.data() + item.size()) {
        return Error(Errc::protocol, "invalid Content-Length");
      }
      if (length && *length != n) return Error(Errc::protocol, "conflicting Content-Length values");
      length = n;
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return length;
}

// Transfer-Encoding: only "chunked" (in any case, possibly split over several fields) is
// supported; pveproxy never sends another coding, and guessing framing is how smuggling starts.
Result<bool> is_chunked(const HttpHeaders& headers) {
  auto values = headers.get_all("Transfer-Encoding");
  if (values.empty()) return false;
  int codings = 0;
  for (std::string_view value : values) {
    while (true) {
      size_t comma = value.find(',');
      std::string_view item = trim_ows(value.substr(0, comma));
      if (!item.empty()) {
        if (!is_chunked_token(item) || ++codings > 1) {
          return Error(Errc::protocol, "unsupported Transfer-Encoding");
        }
      }
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  if (codings != 1) return Error(Errc::protocol, "unsupported Transfer-Encoding");
  return true;
}

}  // namespace

Result<BodyFraming> response_body_framing(const HttpResponseHead& head,
                                          std::string_view request_method) {
  BodyFraming f;
  if (request_method == "HEAD" || head.status < 200 || head.status == 204 || head.status == 304) {
    return f;  // never a body, whatever the headers say
  }
  auto chunked = is_chunked(head.headers);
  if (!chunked.ok()) return chunked.error();
  auto length = content_length(head.headers);
  if (!length.ok()) return length.error();
  if (*chunked) {
    f.kind = BodyFraming::Kind::chunked;
    f.forces_close = length->has_value();
  } else if (length->has_value()) {
    f.kind = BodyFraming::Kind::length;
    f.length = **length;
  } else {
    f.kind = BodyFraming::Kind::until_close;
    f.forces_close = true;
  }
  return f;
}

Result<BodyFraming> request_body_framing(const HttpRequestHead& head) {
  BodyFraming f;
  auto chunked = is_chunked(head.headers);
  if (!chunked.ok()) return chunked.error();
  auto length = content_length(head.headers);
  if (!length.ok()) return length.error();
  if (*chunked) {
    f.kind = BodyFraming::Kind::chunked;
    f.forces_close = length->has_value();
  } else if (length->has_value()) {
    f.kind = BodyFraming::Kind::length;
    f.length = **length;
  }
  return f;
}

HttpBodyDecoder::HttpBodyDecoder(BodyFraming framing, uint64_t max_body_bytes)
    : framing_(framing), max_body_bytes_(max_body_bytes) {
  switch (framing.kind) {
    case BodyFraming::Kind::none:
      state_ = State::done;
      break;
    case BodyFraming::Kind::length:
      state_ = framing.length == 0 ? State::done : State::raw;
      remaining_ = framing.length;
      if (framing.length > max_body_bytes_) {
        // Refuse up front: no point reading a body we will not accept.
        state_ = State::failed;
        error_ = Error(Errc::too_large, "body too large (Content-Length " +
                                            std::to_string(framing.length) + ", limit " +
                                            std::to_string(max_body_bytes_) + " bytes)");
      }
      break;
    case BodyFraming::Kind::chunked:
      state_ = State::size_line;
      break;
    case BodyFraming::Kind::until_close:
      state_ = State::raw;
      break;
  }
}

Error HttpBodyDecoder::fail(Error e) {
  state_ = State::failed;
  error_ = e;
  return e;
}

Error HttpBodyDecoder::add_body_bytes(uint64_t n) {
  if (n > max_body_bytes_ - body_bytes_) {
    return fail(Error(Errc::too_large,
                      "body too large (over " + std::to_string(max_body_bytes_) + " bytes)"));
  }
  body_bytes_ += n;
  return Error();
}

Error HttpBodyDecoder::read_size_line(ByteChain& in, bool& progressed) {
  LineScan scan = scan_line(in, kMaxChunkLineBytes);
  switch (scan.outcome) {
    case LineScan::Outcome::need_more:
      return Error();
    case LineScan::Outcome::too_long:
      return fail(Error(Errc::too_large, "chunk size line too long"));
    case LineScan::Outcome::bare_line_end:
      return fail(Error(Errc::protocol, "chunk size line not ended by CRLF"));
    case LineScan::Outcome::complete:
      break;
  }
  std::string line = take_line(in, scan.line_bytes);
  progressed = true;
  // chunk-size [BWS ; chunk-ext]: extensions are allowed and ignored.
  uint64_t size = 0;
  size_t i = 0;
  for (; i < line.size() && hex_digit(line[i]) >= 0; ++i) {
    if (size > (UINT64_MAX >> 4)) return fail(Error(Errc::protocol, "chunk size overflows"));
    size = (size << 4) | static_cast<uint64_t>(hex_digit(line[i]));
  }
  std::string_view rest = trim_ows(std::string_view(line).substr(i));
  if (i == 0 || (!rest.empty() && rest.front() != ';') || !is_visible_text(rest)) {
    return fail(Error(Errc::protocol, "malformed chunk size line"));
  }
  if (size == 0) {
    state_ = State::trailers;
    return Error();
  }
  if (Error e = add_body_bytes(size); e.failed()) return e;
  remaining_ = size;
  state_ = State::data;
  return Error();
}

Error HttpBodyDecoder::read_trailer_line(ByteChain& in, bool& progressed) {
  // Both limits are enforced at the byte that crosses them, so the outcome does not depend on
  // how the input was cut into deliveries.
  const size_t section_room = kMaxTrailerBytes - trailer_bytes_;
  const size_t limit = std::min(kMaxChunkLineBytes, section_room);
  LineScan scan = scan_line(in, limit);
  switch (scan.outcome) {
    case LineScan::Outcome::need_more:
      return Error();
    case LineScan::Outcome::too_long:
      return fail(Error(Errc::too_large, limit < kMaxChunkLineBytes
                                             ? "chunked trailer section too large"
                                             : "chunked trailer line too long"));
    case LineScan::Outcome::bare_line_end:
      return fail(Error(Errc::protocol, "chunked trailer line not ended by CRLF"));
    case LineScan::Outcome::complete:
      break;
  }
  trailer_bytes_ += scan.line_bytes + 2;  // within limit: scan_line saw the LF inside it
  std::string line = take_line(in, scan.line_bytes);
  progressed = true;
  if (line.empty()) {
    state_ = State::done;
    return Error();
  }
  // Trailer fields are dropped (nothing we use is sent there) but must look like fields.
  size_t colon = line.find(':');
  if (colon == 0 || colon == std::string::npos || line.front() == ' ' || line.front() == '\t' ||
      !is_visible_text(line) || line.find_first_of(" \t") < colon) {
    return fail(Error(Errc::protocol, "malformed chunked trailer line"));
  }
  return Error();
}

Error HttpBodyDecoder::decode(ByteChain& in, ByteChain& body) {
  bool progressed = true;
  while (progressed) {
    progressed = false;
    switch (state_) {
      case State::done:
        return Error();
      case State::failed:
        return error_;
      case State::size_line:
        if (Error e = read_size_line(in, progressed); e.failed()) return e;
        break;
      case State::data: {
        size_t n =
            body.move_from(in, static_cast<size_t>(std::min<uint64_t>(remaining_, SIZE_MAX)));
        remaining_ -= n;
        progressed = n > 0;
        if (remaining_ == 0) state_ = State::data_crlf;
        break;
      }
      case State::data_crlf:
        if (in.size() < 2) return Error();
        if (in.at(0) != '\r' || in.at(1) != '\n') {
          return fail(Error(Errc::protocol, "chunk data not followed by CRLF"));
        }
        in.drain(2);
        state_ = State::size_line;
        progressed = true;
        break;
      case State::trailers:
        if (Error e = read_trailer_line(in, progressed); e.failed()) return e;
        break;
      case State::raw:
        if (framing_.kind == BodyFraming::Kind::length) {
          size_t n =
              body.move_from(in, static_cast<size_t>(std::min<uint64_t>(remaining_, SIZE_MAX)));
          body_bytes_ += n;  // within the limit: checked against Content-Length up front
          remaining_ -= n;
          if (remaining_ == 0) state_ = State::done;
        } else if (in.size() > max_body_bytes_ - body_bytes_) {
          // Deliver up to the limit, then fail: the same bytes whatever the delivery sizes.
          body_bytes_ += body.move_from(in, static_cast<size_t>(max_body_bytes_ - body_bytes_));
          return add_body_bytes(in.size());
        } else {
          body_bytes_ += in.size();
          body.move_from(in);
        }
        return Error();
    }
  }
  return Error();
}

Error HttpBodyDecoder::finish_at_end_of_stream() {
  if (state_ == State::failed) return error_;
  if (state_ == State::done) return Error();
  if (framing_.kind == BodyFraming::Kind::until_close) {
    state_ = State::done;
    return Error();
  }
  return fail(Error(Errc::connection_lost, "connection closed in the middle of the body"));
}

}  // namespace pvb
