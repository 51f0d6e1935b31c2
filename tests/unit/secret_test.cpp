// core::constant_time_equals, the one comparison used for every secret (feed tokens, the webhook
// token): equal exactly when the bytes are, whatever the lengths, prefixes or embedded NULs.
#include "core/secret.hpp"

#include <gtest/gtest.h>

#include <string>

namespace changefeed::test {
namespace {

using core::constant_time_equals;
using namespace std::string_literals;

TEST(constant_time_equals, equal_only_for_the_same_bytes) {
    EXPECT_TRUE(constant_time_equals("s3cr3t-token", "s3cr3t-token"));
    EXPECT_TRUE(constant_time_equals("", ""));
    EXPECT_FALSE(constant_time_equals("s3cr3t-token", "s3cr3t-tokem"));  // last byte
    EXPECT_FALSE(constant_time_equals("s3cr3t-token", "t3cr3t-token"));  // first byte
    EXPECT_FALSE(constant_time_equals("s3cr3t-token", "S3CR3T-TOKEN"));  // case matters
    EXPECT_FALSE(constant_time_equals("s3cr3t-token", ""));
    EXPECT_FALSE(constant_time_equals("", "s3cr3t-token"));
}

TEST(constant_time_equals, a_prefix_or_an_extension_is_not_equal) {
    EXPECT_FALSE(constant_time_equals("s3cr3t-token", "s3cr3t"));
    EXPECT_FALSE(constant_time_equals("s3cr3t", "s3cr3t-token"));
    EXPECT_FALSE(constant_time_equals("s3cr3t-token", "s3cr3t-token "));
    // Embedded NULs count (no C-string comparison underneath).
    EXPECT_FALSE(constant_time_equals("abc\0def"s, "abc\0xyz"s));
    EXPECT_FALSE(constant_time_equals("abc\0def"s, "abc"s));
    EXPECT_TRUE(constant_time_equals("abc\0def"s, "abc\0def"s));
}

TEST(constant_time_equals, long_values_differing_in_one_byte_anywhere) {
    std::string a(4096, 'k');
    for (std::size_t i : {std::size_t{0}, std::size_t{1}, std::size_t{2047}, std::size_t{4095}}) {
        std::string b = a;
        b[i] = 'x';
        EXPECT_FALSE(constant_time_equals(a, b)) << "differing at " << i;
    }
    EXPECT_TRUE(constant_time_equals(a, std::string(4096, 'k')));
}

}  // namespace
}  // namespace changefeed::test
