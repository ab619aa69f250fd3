#include "engine/core/base64.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

std::string text(const std::vector<uint8_t>& v) {
  return std::string(v.begin(), v.end());
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(std::string_view(plain)), encoded);
    auto back = base64_decode(encoded);
    ASSERT_TRUE(back) << encoded;
    EXPECT_EQ(text(*back), plain);
  }
  EXPECT_EQ(base64_encode("user:pa:ss"), "dXNlcjpwYTpzcw==");
}

TEST(Base64, EveryByteValueRoundTrips) {
  std::vector<uint8_t> all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<uint8_t>(i));
  for (size_t n = 0; n <= all.size(); n += 37) {
    std::vector<uint8_t> part(all.begin(), all.begin() + static_cast<long>(n));
    EXPECT_EQ(base64_decode(base64_encode(part)), part) << n;
  }
}

TEST(Base64, DecodingIsStrict) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zm9v\n", "Zm 9v", "Zh==", "Zm9=", "Zm=v", "=Zm9",
                          "Zm9v-_==", "Zm8=Zm8="}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
}

}  // namespace
}  // namespace pvb
