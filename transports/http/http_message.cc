// HTTP/1.1 heads (RFC 9112 section 2-5), parsed strictly where laxness has bitten real clients:
//
// - Lines end in CRLF. A bare LF or a bare CR anywhere in the head is an error rather than
//   tolerated: every server we talk to (pveproxy, our mock) sends CRLF, and accepting both is the
//   classic opening for request smuggling between two parsers that disagree.
// - No obs-fold (a header line starting with SP/HTAB), no whitespace between a field name and its
//   colon, field names are tokens, field values hold no control characters but HTAB.
// - Size limits are checked on the bytes already received, before asking for more: a peer cannot
//   make us buffer more than max_head_bytes, nor more than max_header_lines lines.
// - Reason phrases may hold any visible text (and obs-text): Proxmox puts its error messages there.
#include "transports/http/http_message.h"
#include "engine/core/text.h"

#include <algorithm>

namespace pvb {

namespace {

// tchar from RFC 9110 section 5.6.2.
bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 &&
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

// field-vchar / SP / HTAB, with obs-text (0x80-0xFF) allowed: no control characters.
bool is_field_text(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

// Where the head ends in `in`, scanning at most limits.max_head_bytes without copying.
struct HeadScan {
  enum class Outcome { need_more, complete, bare_line_end, too_long, too_many_lines } outcome;
  size_t head_bytes = 0;  // through the blank line, when complete
};

// Resumes from `progress` (the parsers keep it between calls, so a head trickling in one byte at a
// time is scanned once, not once per byte).
HeadScan scan_head(const ByteChain& in, const HttpLimits& limits, HttpHeadProgress& progress) {
  HttpHeadProgress& st = progress;
  size_t pos = 0;
  for (const Slice& s : in.slices()) {
    if (pos + s.size() <= st.scanned) {
      pos += s.size();
      continue;
    }
    const uint8_t* d = s.data();
    for (size_t i = st.scanned - pos; i < s.size(); ++i) {
      if (st.scanned >= limits.max_head_bytes) return {HeadScan::Outcome::too_long};
      const uint8_t c = d[i];
      ++st.scanned;
      if (st.after_cr) {
        if (c != '\n') return {HeadScan::Outcome::bare_line_end};
        st.after_cr = false;
        if (st.line_bytes == 0) return {HeadScan::Outcome::complete, st.scanned};
        st.line_bytes = 0;
        // The start line plus max_header_lines header lines; one more can never be valid.
        if (++st.lines > limits.max_header_lines + 1) return {HeadScan::Outcome::too_many_lines};
        continue;
      }
      if (c == '\r') {
        st.after_cr = true;
      } else if (c == '\n') {
        return {HeadScan::Outcome::bare_line_end};
      } else {
        ++st.line_bytes;
      }
    }
    pos += s.size();
  }
  return {HeadScan::Outcome::need_more};
}

// Copies the head out of the chain as text (not payload: not counted as a copy).
std::string head_text(const ByteChain& in, size_t n) {
  std::string text;
  text.reserve(n);
  for (const Slice& s : in.slices()) {
    if (text.size() == n) break;
    size_t k = std::min(s.size(), n - text.size());
    text.append(reinterpret_cast<const char*>(s.data()), k);
  }
  return text;
}

// Splits a complete head (ending in CRLF CRLF) into the start line and the header lines.
std::vector<std::string_view> split_lines(std::string_view head) {
  std::vector<std::string_view> lines;
  head.remove_suffix(2);  // the blank line's CRLF
  while (!head.empty()) {
    size_t eol = head.find("\r\n");
    lines.push_back(head.substr(0, eol));
    head.remove_prefix(eol + 2);
  }
  return lines;
}

// "HTTP/1.x" -> x.
std::optional<int> parse_version(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 7) != "HTTP/1." || v[7] < '0' || v[7] > '9') {
    return std::nullopt;
  }
  return v[7] - '0';
}

Error parse_fields(const std::vector<std::string_view>& lines, HttpHeaders& headers,
                   const char* what) {
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.front() == ' ' || line.front() == '\t') {
      return Error(Errc::protocol, std::string(what) + " header: folded line (obs-fold)");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Error(Errc::protocol, std::string(what) + " header: line without a colon");
    }
    std::string_view name = line.substr(0, colon);
    if (!is_token(name)) {
      return Error(Errc::protocol, std::string(what) + " header: invalid field name");
    }
    std::string_view value = trim_blanks(line.substr(colon + 1));
    if (!is_field_text(value)) {
      return Error(Errc::protocol, std::string(what) + " header: control character in field '" +
                                       std::string(name) + "'");
    }
    headers.add(std::string(name), std::string(value));
  }
  return Error();
}

// Common front half of both parsers: finds the head, enforces limits, hands back its lines.
// Returns an empty optional for "need more".
Result<std::optional<std::string>> take_head(ByteChain& in, const HttpLimits& limits,
                                             HttpHeadProgress& progress, const char* what) {
  if (progress.scanned > in.size()) progress = HttpHeadProgress();  // not the same input
  HeadScan scan = scan_head(in, limits, progress);
  switch (scan.outcome) {
    case HeadScan::Outcome::need_more:
      return std::optional<std::string>();
    case HeadScan::Outcome::bare_line_end:
      return Error(Errc::protocol, std::string(what) + " header: line not ended by CRLF");
    case HeadScan::Outcome::too_long:
      return Error(Errc::too_large, std::string(what) + " header too large (over " +
                                        std::to_string(limits.max_head_bytes) + " bytes)");
    case HeadScan::Outcome::too_many_lines:
      return Error(Errc::too_large, std::string(what) + " header has too many fields (over " +
                                        std::to_string(limits.max_header_lines) + ")");
    case HeadScan::Outcome::complete:
      break;
  }
  progress = HttpHeadProgress();
  return std::optional<std::string>(head_text(in, scan.head_bytes));
}

void append_text(ByteChain& out, std::string_view s) {
  out.append_header(s.data(), s.size());
}

// Defence in depth: a CR or LF in a value we were given must not split our own head.
void append_field_text(ByteChain& out, std::string_view s) {
  if (s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos) {
    append_text(out, s);
    return;
  }
  for (char c : s) {
    char safe = (c == '\r' || c == '\n' || c == '\0') ? ' ' : c;
    out.append_header(&safe, 1);
  }
}

void append_fields(const HttpHeaders& headers, ByteChain& out) {
  for (const auto& [name, value] : headers.fields()) {
    append_field_text(out, name);
    append_text(out, ": ");
    append_field_text(out, value);
    append_text(out, "\r\n");
  }
  append_text(out, "\r\n");
}

}  // namespace

// --- parsers -----------------------------------------------------------------------------------

Result<std::optional<HttpResponseHead>> parse_response_head(ByteChain& in,
                                                            const HttpLimits& limits) {
  HttpHeadProgress progress;
  return parse_response_head(in, limits, progress);
}

Result<std::optional<HttpRequestHead>> parse_request_head(ByteChain& in, const HttpLimits& limits) {
  HttpHeadProgress progress;
  return parse_request_head(in, limits, progress);
}

Result<std::optional<HttpResponseHead>> parse_response_head(ByteChain& in, const HttpLimits& limits,
                                                            HttpHeadProgress& progress) {
  // Fail at once on something that is not HTTP at all (a TLS alert, an SSH banner) instead of
  // waiting for a head that will never come.
  static constexpr std::string_view kPrefix = "HTTP/";
  for (size_t i = 0; i < std::min(in.size(), kPrefix.size()); ++i) {
    if (in.at(i) != static_cast<uint8_t>(kPrefix[i])) {
      return Error(Errc::protocol, "response: not an HTTP status line");
    }
  }
  auto text = take_head(in, limits, progress, "response");
  if (!text.ok()) return text.error();
  if (!text->has_value()) return std::optional<HttpResponseHead>();
  const std::string& head = **text;
  std::vector<std::string_view> lines = split_lines(head);
  if (lines.empty()) return Error(Errc::protocol, "response: empty status line");

  // status-line = HTTP-version SP 3DIGIT SP [reason]; "HTTP/1.1 200" without the last SP is
  // accepted as well (an empty reason), as most clients do.
  std::string_view line = lines[0];
  HttpResponseHead out;
  auto version = parse_version(line.substr(0, 8));
  if (!version || line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
    return Error(Errc::protocol, "response: malformed status line");
  }
  std::string_view code = line.substr(9, 3);
  if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      code[0] == '0') {
    return Error(Errc::protocol, "response: malformed status code");
  }
  int status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  std::string_view reason = line.size() > 13 ? line.substr(13) : std::string_view();
  if (!is_field_text(reason)) {
    return Error(Errc::protocol, "response: control character in reason phrase");
  }
  out.minor_version = *version;
  out.status = status;
  out.reason = std::string(reason);
  if (Error e = parse_fields(lines, out.headers, "response"); e.failed()) return e;
  in.drain(head.size());
  return std::optional<HttpResponseHead>(std::move(out));
}

Result<std::optional<HttpRequestHead>> parse_request_head(ByteChain& in, const HttpLimits& limits,
                                                          HttpHeadProgress& progress) {
  auto text = take_head(in, limits, progress, "request");
  if (!text.ok()) return text.error();
  if (!text->has_value()) return std::optional<HttpRequestHead>();
  const std::string& head = **text;
  std::vector<std::string_view> lines = split_lines(head);
  if (lines.empty()) return Error(Errc::protocol, "request: empty request line");

  // request-line = method SP request-target SP HTTP-version, exactly one SP each.
  std::string_view line = lines[0];
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos)
    return Error(Errc::protocol, "request: malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = parse_version(line.substr(sp2 + 1));
  if (!is_token(method) || !version) {
    return Error(Errc::protocol, "request: malformed request line");
  }
  bool target_ok = !target.empty() && std::all_of(target.begin(), target.end(),
                                                  [](char c) { return c > 0x20 && c < 0x7f; });
  if (!target_ok) return Error(Errc::protocol, "request: malformed request target");
  HttpRequestHead out;
  out.minor_version = *version;
  out.method = std::string(method);
  out.target = std::string(target);
  if (Error e = parse_fields(lines, out.headers, "request"); e.failed()) return e;
  in.drain(head.size());
  return std::optional<HttpRequestHead>(std::move(out));
}

// --- writers -----------------------------------------------------------------------------------

void write_request_head(const HttpRequestHead& head, ByteChain& out) {
  append_field_text(out, head.method);
  append_text(out, " ");
  append_field_text(out, head.target);
  append_text(out, head.minor_version == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  append_fields(head.headers, out);
}

void write_response_head(const HttpResponseHead& head, ByteChain& out) {
  append_text(out, head.minor_version == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  int status = std::clamp(head.status, 100, 999);
  append_text(out, std::to_string(status));
  append_text(out, " ");
  append_field_text(out, head.reason.empty() ? default_reason(status) : head.reason);
  append_text(out, "\r\n");
  append_fields(head.headers, out);
}

std::string_view default_reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace pvb
