// Helpers shared by the decoder tests: decode a text as file "m.yaml" and
// compare the error lines it produced.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "model/cidr.h"
#include "model/ipv4.h"
#include "sources/manifest_decoder.h"

namespace meridian::sources::test_support {

inline DecodeResult Decode(std::string_view text) { return DecodeManifests(text, "m.yaml"); }

inline std::vector<std::string> Messages(const DecodeResult& r) {
  std::vector<std::string> out;
  for (const DecodeError& e : r.errors) out.push_back(e.ToString());
  return out;
}

inline model::Ipv4Address Ip(const char* text) { return *model::Ipv4Address::Parse(text); }
inline model::Cidr Net(const char* text) { return *model::Cidr::Parse(text); }

// Asserts the text decodes to exactly these error lines and no objects.
inline void ExpectErrors(std::string_view text, const std::vector<std::string>& expected) {
  DecodeResult r = Decode(text);
  EXPECT_EQ(Messages(r), expected);
  EXPECT_EQ(r.objects, model::ResourceSnapshot{});
}

}  // namespace meridian::sources::test_support
