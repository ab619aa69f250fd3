#include "engine/core/error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace pvb {
namespace {

TEST(Error, DefaultIsOk) {
  Error e;
  EXPECT_TRUE(e.ok());
  EXPECT_FALSE(e.failed());
}

TEST(Error, ContextPrefixesDetail) {
  Error e(Errc::tls_verify, "fingerprint mismatch");
  e.context("TLS");
  EXPECT_EQ(e.message(), "TLS: fingerprint mismatch");
  EXPECT_EQ(e.code(), Errc::tls_verify);
}

TEST(Error, NamesAreDistinctLowercaseWords) {
  std::set<std::string> seen;
  for (int c = 0; c <= static_cast<int>(Errc::internal); ++c) {
    std::string name = errc_name(static_cast<Errc>(c));
    EXPECT_TRUE(seen.insert(name).second) << name;
    for (char ch : name) EXPECT_TRUE((ch >= 'a' && ch <= 'z') || ch == '_') << name;
  }
}

TEST(Result, HoldsValueOrError) {
  Result<int> a(5);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 5);
  Result<int> b(Error(Errc::not_found, "no guest 'x'"));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), Errc::not_found);
}

}  // namespace
}  // namespace pvb
