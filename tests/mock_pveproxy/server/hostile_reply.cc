#include "tests/mock_pveproxy/server/hostile_reply.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "engine/core/json.h"
#include "engine/core/json_writer.h"

namespace pvb::mock {

namespace {

constexpr size_t kHeaderLineBytes = 64;  // "X-Endless-00000001: xxx...\r\n"
constexpr size_t kChunkBytes = 16 * 1024;
constexpr std::string_view kChunkHead = "4000\r\n";  // 16 KiB in hex
constexpr std::string_view kJsonPrefix = "{\"data\":\"";
constexpr std::string_view kJsonSuffix = "\"}";
constexpr std::string_view kFillerText = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";  // 42

}  // namespace

namespace {

void write_retyped(JsonWriter& w, JsonElement e, bool inside_data) {
  simdjson::dom::object object;
  simdjson::dom::array array;
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT:
      if (e.get_object().get(object) != simdjson::SUCCESS) break;
      w.begin_object();
      for (simdjson::dom::key_value_pair field : object) {
        w.key(field.key);
        write_retyped(w, field.value, inside_data || field.key == "data");
      }
      w.end_object();
      return;
    case simdjson::dom::element_type::ARRAY:
      if (e.get_array().get(array) != simdjson::SUCCESS) break;
      w.begin_array();
      for (JsonElement item : array) write_retyped(w, item, inside_data);
      w.end_array();
      return;
    case simdjson::dom::element_type::NULL_VALUE:
      w.null();
      return;
    default:
      break;
  }
  if (inside_data) w.begin_array();
  w.raw(simdjson::minify(e));
  if (inside_data) w.end_array();
}

}  // namespace

std::string retype_json(std::string_view json) {
  Result<JsonDocument> doc = JsonDocument::parse(json, "reply");
  if (!doc.ok()) return std::string(json);
  JsonWriter w;
  write_retyped(w, doc->root(), false);
  return w.take();
}

HostileReply::HostileReply(Transport& out, FaultKind kind) : out_(out), kind_(kind) {}

std::string HostileReply::head(FaultKind kind) {
  std::string h = "HTTP/1.1 200 OK\r\nServer: pve-api-daemon/3.0\r\n";
  h += "Content-Type: application/json;charset=UTF-8\r\n";
  switch (kind) {
    case FaultKind::huge_body:
      return h + "Content-Length: " + std::to_string(kMaxBytes) + "\r\n\r\n";
    case FaultKind::endless_chunked:
      return h + "Transfer-Encoding: chunked\r\n\r\n";
    default:
      return h;  // endless_headers: the blank line never comes
  }
}

void HostileReply::start() {
  // The filler: one block of 'x', shared by every slice we send.
  std::span<uint8_t> room = filler_.reserve(kChunkBytes);
  std::memset(room.data(), 'x', kChunkBytes);
  filler_.commit(kChunkBytes);
  const std::string h = head(kind_);
  ByteChain out;
  out.append_header(h.data(), h.size());
  sent_ += out.size();
  out_.write(out);
  fill();
}

void HostileReply::fill() {
  while (!out_.closed() && sent_ < kMaxBytes &&
         out_.pending_write_bytes() <= out_.write_high_mark()) {
    ByteChain batch;
    generate(batch, kBatchBytes);
    if (batch.empty()) return;  // huge_body: the whole body is out
    sent_ += batch.size();
    out_.write(batch);
  }
  if (out_.closed() || sent_ >= kMaxBytes || recheck_posted_) return;
  // on_write_low is promised only after on_write_high has fired, and "high" is posted: look
  // again after it, and go on now if the queue drained meanwhile.
  recheck_posted_ = true;
  out_.loop().post([this, weak = alive_.weak()] {
    if (weak.expired()) return;
    recheck_posted_ = false;
    if (out_.pending_write_bytes() <= out_.write_high_mark()) fill();
  });
}

void HostileReply::generate(ByteChain& out, size_t n) {
  auto add_filler = [&](size_t bytes) {
    Slice s = filler_.front();
    s.end = s.begin + static_cast<uint32_t>(bytes);
    out.append_slice(std::move(s));
  };
  switch (kind_) {
    case FaultKind::endless_headers:
      for (size_t i = 0; i < n / kHeaderLineBytes; ++i) {
        char line[kHeaderLineBytes + 1];
        std::snprintf(line, sizeof line, "X-Endless-%08llu: %.42s\r\n",
                      static_cast<unsigned long long>(generated_ / kHeaderLineBytes % 100000000),
                      kFillerText.data());
        out.append_header(line, kHeaderLineBytes);
        generated_ += kHeaderLineBytes;
      }
      return;
    case FaultKind::endless_chunked:
      out.append_header(kChunkHead.data(), kChunkHead.size());
      add_filler(kChunkBytes);
      out.append_header("\r\n", 2);
      generated_ += kChunkHead.size() + kChunkBytes + 2;
      return;
    case FaultKind::huge_body: {
      // {"data":"xxx...x"} of exactly kMaxBytes bytes: valid JSON, should anyone read it all.
      const uint64_t end = std::min<uint64_t>(kMaxBytes, generated_ + n);
      const uint64_t filler_end = kMaxBytes - kJsonSuffix.size();
      while (generated_ < end) {
        const uint64_t p = generated_;
        size_t k = 0;
        if (p < kJsonPrefix.size()) {
          k = static_cast<size_t>(std::min<uint64_t>(end, kJsonPrefix.size()) - p);
          out.append_header(kJsonPrefix.data() + p, k);
        } else if (p < filler_end) {
          k = static_cast<size_t>(std::min<uint64_t>({end - p, filler_end - p, kChunkBytes}));
          add_filler(k);
        } else {
          k = static_cast<size_t>(end - p);
          out.append_header(kJsonSuffix.data() + (p - filler_end), k);
        }
        generated_ += k;
      }
      return;
    }
    default:
      return;
  }
}

}  // namespace pvb::mock
