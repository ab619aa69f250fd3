// The recorded QEMU sessions of tests/engine/rfb/data, compiled in (a fuzz target reads no
// files): fuzz/CMakeLists.txt generates rfb_recordings.cc from them.
#pragma once

#include <cstddef>

namespace pvb::fuzz {

struct Recording {
  const char* name;
  const unsigned char* client;  // the viewer's messages after ClientInit
  size_t client_size;
  const unsigned char* server;  // ServerInit, then the server's messages
  size_t server_size;
};

extern const Recording kRecordings[];
extern const size_t kRecordingCount;

}  // namespace pvb::fuzz
