// route_of(): the route a request would run, for the metrics of requests answered without their
// handler's response (a body refused before routing, a handler that threw).
#include "http/router.hpp"

#include <gtest/gtest.h>

namespace changefeed::http {
namespace {

handler empty_answer() {
    return [](const request&) -> boost::asio::awaitable<response> { co_return response{}; };
}

TEST(router, route_of_names_the_route_dispatch_would_run) {
    router r;
    r.add("GET", "/consumers/{name}", empty_answer());
    r.add("GET", "/consumers/mine", empty_answer());
    r.add("PUT", "/consumers/{name}/offset", empty_answer());
    r.add("POST", "/webhooks/{source}", empty_answer());
    EXPECT_EQ(r.route_of("GET", "/consumers/c1"), "/consumers/{name}");
    EXPECT_EQ(r.route_of("GET", "/consumers/mine"), "/consumers/mine") << "a literal beats a placeholder";
    EXPECT_EQ(r.route_of("PUT", "/consumers/c1/offset"), "/consumers/{name}/offset");
    EXPECT_EQ(r.route_of("POST", "/webhooks/precoro"), "/webhooks/{source}");
    EXPECT_EQ(r.route_of("POST", "/consumers/c1"), "") << "a 405 runs no route";
    EXPECT_EQ(r.route_of("GET", "/nowhere"), "");
    EXPECT_EQ(r.route_of("GET", "/consumers/"), "") << "a placeholder matches no empty segment";
    EXPECT_EQ(r.route_of("GET", ""), "");
}

}  // namespace
}  // namespace changefeed::http
