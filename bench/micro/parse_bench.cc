// Parsing what the Proxmox API sends: an HTTP response (head and body, through HttpResponseParser)
// and the JSON of a 10,000-guest cluster/resources reply (through decode_resources).
#include <string>

#include "bench/micro/bench_util.h"
#include "engine/proxmox/replies.h"
#include "transports/http/http_parser.h"

namespace pvb::bench {
namespace {

// A cluster/resources?type=vm body as pveproxy writes it: one object per guest, every field
// Proxmox sends (most of which pvebridge skips).
std::string resources_body(size_t guests) {
  std::string s = "{\"data\":[";
  for (size_t i = 0; i < guests; ++i) {
    const size_t vmid = 100 + i;
    const bool lxc = i % 4 == 3;
    const bool running = i % 3 != 0;
    if (i > 0) s += ',';
    s += "{\"cpu\":" + std::string(running ? "0.0123456789" : "0") + ",\"disk\":0";
    s += ",\"diskread\":" + std::to_string(123456789 + i) + ",\"diskwrite\":98765432";
    s += ",\"id\":\"" + std::string(lxc ? "lxc/" : "qemu/") + std::to_string(vmid) + "\"";
    s += ",\"maxcpu\":4,\"maxdisk\":34359738368,\"maxmem\":4294967296,\"mem\":2147483648";
    s += ",\"name\":\"guest-" + std::to_string(vmid) + ".example.com\"";
    s += ",\"netin\":" + std::to_string(1000 * i) + ",\"netout\":654321";
    s += ",\"node\":\"pve" + std::to_string(1 + i % 8) + "\"";
    s += ",\"status\":\"" + std::string(running ? "running" : "stopped") + "\"";
    if (i % 5 == 0) s += ",\"tags\":\"prod;web\"";
    if (i % 7 == 0) s += ",\"pool\":\"team-a\"";
    if (i % 50 == 0) s += ",\"hastate\":\"started\"";
    s += ",\"template\":" + std::string(i % 97 == 0 ? "1" : "0");
    s += ",\"type\":\"" + std::string(lxc ? "lxc" : "qemu") + "\"";
    s += ",\"uptime\":" + std::to_string(running ? 86400 + i : 0);
    s += ",\"vmid\":" + std::to_string(vmid) + "}";
  }
  return s + "]}";
}

// pveproxy's answer to vncproxy: its usual headers and a body carrying the cluster CA.
std::string vncproxy_body() {
  std::string cert = "-----BEGIN CERTIFICATE-----\\n";
  const std::string b64 = "MIIFvTCCA6WgAwIBAgIUQ0e8W1H3cGxpZW50LXRlc3QtY2VydGlmaWNhdGUtZGF0YQ";
  for (int line = 0; line < 30; ++line) cert += b64 + "\\n";
  cert += "-----END CERTIFICATE-----\\n";
  return "{\"data\":{\"cert\":\"" + cert +
         "\",\"password\":\"Xk7#pQ2z\",\"port\":\"5900\","
         "\"ticket\":\"PVEVNC:6565E1B0::WmVyb0NvcHlDb2RlY0JlbmNobWFya1RpY2tldA==\","
         "\"upid\":\"UPID:pve1:0001F2A3:00C4B5D6:6565E1B0:vncproxy:100:root@pam:\","
         "\"user\":\"root@pam\"}}";
}

std::string http_response(const std::string& body) {
  return "HTTP/1.1 200 OK\r\n"
         "Cache-Control: max-age=0\r\n"
         "Connection: Keep-Alive\r\n"
         "Date: Tue, 24 Nov 2026 04:00:00 GMT\r\n"
         "Pragma: no-cache\r\n"
         "Server: pve-api-daemon/3.0\r\n"
         "Content-Length: " +
         std::to_string(body.size()) +
         "\r\n"
         "Content-Type: application/json;charset=UTF-8\r\n"
         "Expires: Tue, 24 Nov 2026 04:00:00 GMT\r\n"
         "\r\n" +
         body;
}

void BM_HttpResponseParse(benchmark::State& state, const std::string& body) {
  ByteChain wire;
  fill_chain(wire, http_response(body));
  const size_t bytes = wire.size();
  HttpLimits limits;
  HttpResponseParser parser(limits);
  ByteChain in, out;
  for (auto _ : state) {
    alias_chain(wire, in);
    parser.reset();
    Result<HttpParseState> r = parser.feed(in, out);
    if (!r.ok() || *r != HttpParseState::complete || out.size() != body.size()) {
      state.SkipWithError("the response did not parse");
      break;
    }
    out.clear();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_DecodeResources(benchmark::State& state) {
  const size_t guests = static_cast<size_t>(state.range(0));
  const std::string body = resources_body(guests);
  for (auto _ : state) {
    Result<std::vector<Guest>> r = decode_resources(body);
    if (!r.ok() || r->size() != guests) {
      state.SkipWithError("decode_resources failed");
      break;
    }
    benchmark::DoNotOptimize(r->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * guests));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

BENCHMARK_CAPTURE(BM_HttpResponseParse, vncproxy_reply, vncproxy_body());
BENCHMARK_CAPTURE(BM_HttpResponseParse, resources_10000_reply, resources_body(10000));
BENCHMARK(BM_DecodeResources)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pvb::bench
