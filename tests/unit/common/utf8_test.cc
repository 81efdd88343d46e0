#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace meridian {
namespace {

constexpr auto npos = std::string_view::npos;

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_EQ(FirstInvalidUtf8(""), npos);
  EXPECT_EQ(FirstInvalidUtf8("web.shop.svc"), npos);
  EXPECT_EQ(FirstInvalidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), npos);  // é € 😀
  EXPECT_EQ(FirstInvalidUtf8("\xf4\x8f\xbf\xbf"), npos);                           // U+10FFFF
}

TEST(Utf8Test, FindsTheFirstBadByte) {
  EXPECT_EQ(FirstInvalidUtf8("ab\xe9"), 2u);            // Latin-1 é
  EXPECT_EQ(FirstInvalidUtf8("\\\xe3"), 1u);            // truncated sequence at the end
  EXPECT_EQ(FirstInvalidUtf8("x\xe3\x81y"), 1u);        // truncated in the middle
  EXPECT_EQ(FirstInvalidUtf8("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8("\xe0\x80\xaf"), 0u);      // overlong, 3 bytes
  EXPECT_EQ(FirstInvalidUtf8("\xed\xa0\x80"), 0u);      // surrogate U+D800
  EXPECT_EQ(FirstInvalidUtf8("\xf4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("ok\xff"), 2u);
  EXPECT_EQ(FirstInvalidUtf8("\x80"), 0u);  // lone continuation byte
}

TEST(Utf8Test, EscapesOnlyTheBadBytes) {
  EXPECT_EQ(EscapeInvalidUtf8("plain"), "plain");
  EXPECT_EQ(EscapeInvalidUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(EscapeInvalidUtf8("a\xe9z"), "a\\xe9z");
  EXPECT_EQ(EscapeInvalidUtf8("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(EscapeInvalidUtf8("\xe3\x81"), "\\xe3\\x81");
  EXPECT_EQ(EscapeInvalidUtf8("\xc3\xa9\xe9"), "\xc3\xa9\\xe9");
}

TEST(Utf8Test, EscapedTextIsAlwaysValid) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_TRUE(IsValidUtf8(EscapeInvalidUtf8(all)));
  EXPECT_FALSE(IsValidUtf8(all));
}

}  // namespace
}  // namespace meridian
