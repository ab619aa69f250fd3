// One Proxmox node endpoint (host name or IP literal, port).
#pragma once

#include <cstdint>
#include <string>

namespace pvb {

struct ApiHost {
  std::string host;  // without brackets
  uint16_t port = 8006;
  // "pve1:8006", "[::1]:8006" (also the Host header value)
  std::string authority() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

}  // namespace pvb
