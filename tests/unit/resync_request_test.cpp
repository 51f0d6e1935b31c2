// The body of POST /sources/{name}/resync.
#include "app/resync_request.hpp"

#include <gtest/gtest.h>

namespace changefeed::app {
namespace {

using namespace std::chrono_literals;

const auto k_now = *time::parse_rfc3339("2026-11-30T12:00:00Z");

std::string error_of(std::string_view body) {
    auto parsed = parse_resync_request(body, k_now);
    const auto* why = std::get_if<std::string>(&parsed);
    return why != nullptr ? *why : std::string("(accepted)");
}

TEST(resync_request, an_empty_body_or_object_replays_everything_retained) {
    for (std::string_view body : {"", "  \n", "{}", R"({"from":null})"}) {
        auto parsed = parse_resync_request(body, k_now);
        ASSERT_TRUE(std::holds_alternative<resync_request>(parsed)) << body;
        EXPECT_FALSE(std::get<resync_request>(parsed).from) << body;
    }
}

TEST(resync_request, from_is_normalised_to_utc_with_microseconds) {
    auto parsed = parse_resync_request(R"({"from":"2026-11-01T01:30:00+01:00"})", k_now);
    ASSERT_TRUE(std::holds_alternative<resync_request>(parsed));
    EXPECT_EQ(std::get<resync_request>(parsed).from, "2026-11-01T00:30:00.000000Z");
}

TEST(resync_request, bad_bodies_are_refused_naming_what_is_wrong) {
    EXPECT_NE(error_of("[]").find("JSON object"), std::string::npos);
    EXPECT_NE(error_of("{").find("JSON object"), std::string::npos);
    EXPECT_NE(error_of(R"({"form":"x"})").find("'form'"), std::string::npos);
    EXPECT_NE(error_of(R"({"from":42})").find("'from'"), std::string::npos);
    EXPECT_NE(error_of(R"({"from":"last week"})").find("last week"), std::string::npos);
    EXPECT_NE(error_of(R"({"from":"2026-12-01T00:00:00Z"})").find("future"), std::string::npos);
}

} // namespace
} // namespace changefeed::app
